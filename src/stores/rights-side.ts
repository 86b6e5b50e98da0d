import type { DataMap } from "../datamap/schema";
import type { Logger } from "../logger";
import type { SubjectRef } from "../subject/reference";
import type { SubjectSnapshot } from "../subject/snapshot";
import type { StoreDeps } from "./store-kind";

/**
 * The other rights (rectification, restriction, objection, consent withdrawal; issue 13) as a
 * store kind implements them: its `rights` member. A kind without it has nothing to do for them.
 * Like the erase side, nothing outside `stores/` asks which kind a store is.
 */

/** What a recipient is told (Art. 19, 21, 7(3)). `erase` goes through the erase side. */
export const RECIPIENT_ACTIONS = ["erase", "rectify", "restrict", "lift-restriction", "object", "withdraw-consent"] as const;
/** One of {@link RECIPIENT_ACTIONS}. */
export type RecipientAction = (typeof RECIPIENT_ACTIONS)[number];

/** A field of the subject as its store declares it: the data-map name and where it lives. */
export interface SubjectField {
  /** `email` for a column of the subject table, `<table>.<column>` elsewhere. */
  name: string;
  table: string;
  column: string;
  /** A column of the subject table itself (only those can be rectified; their copies follow). */
  onSubjectTable: boolean;
}

/** One change of a rectification, or one field of an erasure of fields, as the stores apply it. */
export interface FieldChange {
  /** Data-map field name (see {@link SubjectField}). */
  field: string;
  /** The new value as text; null sets NULL. Ignored when `erase`. */
  value: string | null;
  /** Erase the field (its declared mask, else NULL) instead of setting a value. */
  erase?: boolean;
}

/** A proposed value that cannot be applied, found before anything runs. Never echoes the value. */
export interface ValueProblem {
  field: string;
  /** 409: another record holds the value (a unique constraint); 400: the value does not fit. */
  status: 400 | 409;
  message: string;
}

/** What one store did for a rectification or an erasure of fields: tables (or patterns), counts and field names. */
export interface RightsStep {
  /** A table, key pattern or path pattern as the data map writes it. */
  table: string;
  action: "rectified" | "erased" | "invalidated" | "rewritten";
  rows: number;
  /** Field names (never values). */
  fields: string[];
}

/** How a store's part of a rectification ended. `not_applicable`: the store holds nothing to change, and says why. */
export type RectifyOutcome = { state: "done"; steps: RightsStep[] } | { state: "not_applicable"; note: string };

/** Records a store's steps before its transaction commits (with the transaction id), so a crash can be told apart. */
export type RecordRectified = (steps: RightsStep[], xid: string | null) => Promise<void>;

/** What a store's rights side gets for one request. */
export interface RightsRunContext {
  requestId: string;
  store: string;
  /** The subject as it was before the change (key, identities, link values). */
  snapshot: SubjectSnapshot;
  logger: Logger;
  signal?: AbortSignal;
}

/** The event one recipient is sent, as its rights side receives it (values only what the map allows it). */
export interface RecipientMessage {
  action: RecipientAction;
  requestId: string;
  /** `<action>-<requestId>-<recipient>`: the same on every retry. */
  idempotencyKey: string;
  /** The identities the recipient may see. */
  subject: Record<string, string>;
  /** `rectify`: the changed fields it holds, with their new values. */
  changes?: Array<{ field: string; value: string | null }>;
  /** `restrict` / `lift-restriction`: the ground (Art. 18(1)(a)–(d)) and purpose. */
  restriction?: { ground: string; purpose: string | null };
  /** `object` / `withdraw-consent`: the purpose concerned. */
  purpose?: string;
}

/**
 * How telling a recipient ended. `executed`: done; `accepted`: it took the event for later;
 * `skipped`: it holds nothing concerned (with its reason code); `unsupported`: it does not know
 * the action (older processors know only `erase`); `failed`: refused for good. A retryable
 * failure is thrown instead.
 */
export type TellOutcome =
  | { state: "executed" | "accepted"; httpStatus: number }
  | { state: "skipped"; reason: string; httpStatus: number | null }
  | { state: "unsupported"; httpStatus: number }
  | { state: "failed"; code: string; httpStatus: number | null };

/** A retryable failure of one event: the recipient did not answer, or answered "try later" (408, 429, 5xx). */
export class RecipientUnavailableError extends Error {
  override readonly name = "RecipientUnavailableError";
  constructor(
    readonly code: string,
    message: string,
    readonly httpStatus: number | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A store's rights side at run time, built once per process. */
export interface StoreRights {
  /** Checks proposed values against the live store (types, lengths, NOT NULL, CHECK, UNIQUE) and changes nothing. */
  checkValues?(snapshot: SubjectSnapshot, changes: FieldChange[]): Promise<ValueProblem[]>;
  /** Applies a rectification (or an erasure of fields) exactly once: `record` is called before the change commits. */
  rectify?(ctx: RightsRunContext, changes: FieldChange[], record: RecordRectified): Promise<RectifyOutcome>;
  /** Whether a recorded transaction committed (`txid_status`), for resuming after a crash. */
  transactionStatus?(xid: string): Promise<string | null>;
  /** The subject store: where mail to the subject goes (`subject.contact.email`, else the `email` identity); null when not found. */
  contactOf?(ref: SubjectRef): Promise<{ email: string | null } | null>;
  /** A processor: how its erase call of request `requestId` stands (the erase side tells it; null: not called yet). */
  erasureCall?(requestId: string): Promise<{
    idempotencyKey: string;
    status: "pending" | "accepted" | "executed" | "failed";
    attempts: number;
    lastHttpStatus: number | null;
    errorCode: string | null;
  } | null>;
  /** A processor: sends one event (same idempotency key on every retry). Throws when a retry may help. */
  tell?(message: RecipientMessage, signal?: AbortSignal): Promise<TellOutcome>;
  /** Closes a connection of its own. */
  close?(): Promise<void>;
}

/** A field name a declaration refers to (a copy's `mirrors`, a hash field's `holds`, a processor's `fields`), with its key path. */
export interface FieldRef {
  path: Array<string | number>;
  field: string;
}

/** The rights member of a {@link StoreKind}. */
export interface RightsKind<Spec = unknown> {
  /** Stores of this kind are processors: each request's recipients (Art. 19), told through `tell`. */
  readonly isRecipient: boolean;
  /** The subject's fields a store of this kind declares (the subject store's kind), by data-map name. */
  subjectFields?(map: DataMap, store: string, spec: Spec): SubjectField[];
  /** Field names the declaration refers to, checked against the subject's fields. */
  fieldRefs?(spec: Spec): FieldRef[];
  /** A processor: which of the subject's fields it holds (the fields a `rectify` event may carry). */
  sharedFields?(spec: Spec): string[];
  /** A processor: which identities it may see. */
  sharedIdentities?(spec: Spec): string[];
  /** A processor: how long it has to take an event, in milliseconds, from its creation (null: no deadline). */
  deadlineMs?(spec: Spec): number | null;
  /** The run-time side of store `store`. */
  open(store: string, deps: StoreDeps): StoreRights;
}
