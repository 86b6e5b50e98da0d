import type { HoldView } from "../db/tables/legal-hold";
import type { RetentionRunView } from "../retention/runs";
import type { RequestView } from "../requests/view";
import type { RequestStatus, RequestType } from "../types";

/** The wire types of the API, re-exported for the package (types only: no server code is loaded). */
export type { ExportView } from "../exports/export-view";
export type { HoldView, RequestStatus, RequestType, RequestView, RetentionRunView };
export type { ReceiptPublicKey, Receipt, SignedReceipt } from "../receipts/verify-receipt";

/** A subject reference: exactly one identity of the data map (`{ id: "42" }`, `{ email: "a@b.c" }`). */
export type SubjectRef = Record<string, string>;

/** Body of `POST /v1/requests`: an erasure or an export, or one of the other rights ({@link RightsSubmitInput}). */
export type SubmitInput =
  | {
      type: Extract<RequestType, "erasure" | "export">;
      subject: SubjectRef;
      /** Preview only: count what would be done, change nothing. */
      dryRun?: boolean;
    }
  | RightsSubmitInput;

/** One change of a rectification: a personal field of the subject table and its new value (null: empty it). */
export interface FieldChangeInput {
  field: string;
  value: string | null;
}

/** Body of `POST /v1/requests` for the other rights (Art. 16, 18, 21, 7(3)). */
export type RightsSubmitInput =
  | { type: "rectification"; subject: SubjectRef; changes: FieldChangeInput[]; contested?: boolean }
  | { type: "restriction"; subject: SubjectRef; ground: "a" | "b" | "c" | "d"; purpose?: string }
  | { type: "objection"; subject: SubjectRef; purpose: string }
  | { type: "consent-withdrawal"; subject: SubjectRef; purpose: string; source: string };

export type { RecipientView } from "../rights/recipient-list";
export type { SubjectRightsView } from "../rights/subject-status";
export type { RestrictionView } from "../db/tables/restriction";
export type { ConsentEventView } from "../db/tables/consent-event";
export type { NoticeView } from "../db/tables/rights-notice";
export type { RightsView } from "../rights/view-types";

/** Options of a submit. */
export interface SubmitOptions {
  /**
   * Sent as `Idempotency-Key` (1–200 printable ASCII characters): the same key with the same
   * request answers the first request again instead of making a second. (Default: a random UUID
   * per call, so the client's own retries after a network error are safe)
   */
  idempotencyKey?: string;
  signal?: AbortSignal;
}

/** Answer of `POST /v1/requests`. */
export interface Submitted {
  id: string;
  status: RequestStatus;
  dueAt: string;
  /** The key was seen before: this is the first request's answer (`Idempotent-Replayed: true`). */
  replayed: boolean;
}

/** Body of `POST /v1/holds`. */
export interface HoldInput {
  subject: SubjectRef;
  /** The legal ground, e.g. "litigation hold, case 2024-17" (3–500 characters). */
  ground: string;
  /** When the hold ends by itself (ISO 8601 with offset, or a Date). (Default: until released) */
  until?: string | Date;
}

/** Answer of `DELETE /v1/holds/:id`: the released hold and how many held requests resumed. */
export type ReleasedHold = HoldView & { resumedRequests: number };

/** Options of a wait. */
export interface WaitOptions {
  /** Give up (with `LetheTimeoutError`) after this long. (Default: 60000 ms) */
  timeoutMs?: number;
  /** First pause between polls; it grows by half each poll up to 10 s. (Default: 500 ms) */
  intervalMs?: number;
  signal?: AbortSignal;
}

/** The readiness report of `GET /readyz`. */
export interface Readiness {
  status: "ok";
  checks: Record<string, string>;
}

/** A downloaded export: the zip as a stream, its file name and size. */
export interface ExportDownload {
  body: ReadableStream<Uint8Array>;
  filename: string | null;
  sizeBytes: number | null;
}

/** The breach register's wire types (types only). */
export type { IncidentView } from "../incidents/incident-view";
export type { ScopeView } from "../incidents/scopes";
export type { FanoutProgress } from "../incidents/fanout";
export type { RenderedNotice } from "../breach/notice-templates";

/** Body of `POST /v1/incidents`. */
export interface IncidentInput {
  title: string;
  description: string;
  kinds: Array<"confidentiality" | "integrity" | "availability">;
  /** ISO 8601 with offset. */
  detectedAt: string;
  /** When the controller became aware: starts the 72-hour clock. */
  awareAt: string;
  occurred?: { from: string; until: string | null };
  stores?: string[];
  systems?: string[];
}

/** A breach scope: rows of a table (conditions, a time window or all), a list of keys, or a list of identities. */
export type ScopeInput =
  | {
      kind: "rows";
      store: string;
      table: string;
      where?: Array<{ column: string; op: string; value?: unknown }>;
      window?: { column: string; from?: string; until?: string };
      allRows?: true;
    }
  | { kind: "keys"; store: string; table: string; column?: string; values: Array<string | number> }
  | { kind: "identities"; identity: string; values: string[] };

/** A report version as the API returns it. */
export interface ReportVersion {
  version: number;
  kind: "initial" | "follow_up" | "withdrawal";
  final: boolean;
  report: Record<string, unknown>;
  /** What changed since the previous version (null for version 1). */
  changes?: Array<{ path: string; before?: unknown; after?: unknown }> | null;
}

/** A stored notice version. */
export interface NoticeVersion {
  version: number;
  locales: string[];
  fallbackLocale: string;
  notices: Record<string, { locale: string; subject: string; text: string; html: string }>;
  createdAt: string;
}

/** A page of per-person notice statuses. */
export interface NotificationPage {
  notifications: Array<{
    id: string;
    subjectHash: string;
    noticeVersion: number;
    status: "queued" | "sending" | "sent" | "undeliverable";
    attempts: number;
    resentInDoubt: boolean;
    smtpCode: number | null;
    smtpResponse: string | null;
    errorCode: string | null;
    sentAt: string | null;
    updatedAt: string;
  }>;
  next: string | null;
}
