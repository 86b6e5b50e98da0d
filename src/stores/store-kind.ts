import type { ClientBase, Pool } from "pg";
import type { z } from "zod";
import type { DataMap } from "../datamap/schema";
import type { Logger } from "../logger";
import type { Services } from "../services";
import type { SubjectRef } from "../subject/reference";
import type { SubjectSnapshot } from "../subject/snapshot";
import type { StepCount } from "../types";
import type { AffectedLocator } from "./affected";
import type { ExportSink, ManifestEntry } from "./export-sink";
import type { RightsKind } from "./rights-side";

/**
 * The one interface every store kind implements (postgres, redis, files, webhook). A kind is one
 * folder `stores/<kind>/` whose `index.ts` exports one {@link StoreKind}, and one line in
 * `stores/registry.ts`. Nothing outside `stores/` asks which kind a store is: it asks the kind.
 * `docs/store-kinds.md` is the checklist for a new kind.
 */

/** What a store adapter gets for one request. No personal data leaves through it except to the store itself. */
export interface StoreRunContext {
  requestId: string;
  /** Data-map name of the store. */
  store: string;
  /** The subject's identities (`id`, `email`, …) and link values, snapshotted before anything was destroyed. */
  snapshot: SubjectSnapshot;
  logger: Logger;
  signal?: AbortSignal;
}

/**
 * Durably records what an erasure did. The postgres adapter calls it before COMMIT with its
 * transaction id, so a crash between COMMIT and the runner's bookkeeping can be told apart.
 */
export type RecordSteps = (steps: StepCount[], xid?: string) => Promise<void>;

/** The end of one erase attempt. `pending`: accepted by a processor, done later (callback or status poll). */
export type EraseOutcome = { state: "done"; steps: StepCount[] } | { state: "pending"; steps: StepCount[]; checkAgainInMs: number };

/** A store as the erasure runner sees it (the erase side of a kind). */
export interface StoreAdapter {
  readonly kind: string;
  /** The counts an erasure would produce; changes nothing. */
  preview(ctx: StoreRunContext): Promise<StepCount[]>;
  /** Erases the subject. Idempotent: a second call finds nothing left and changes nothing. */
  erase(ctx: StoreRunContext, record: RecordSteps): Promise<EraseOutcome>;
  /** Re-locates the subject after an erasure; what still identifies it (names and counts only). */
  verify(ctx: StoreRunContext): Promise<string[]>;
  /**
   * True when `erase` itself re-locates the subject and refuses to commit while anything is left
   * (Postgres: inside the erasure transaction, before COMMIT; Redis and files: each key or path
   * removed is looked at again; a processor: only its confirmed call counts as done). The
   * finalizing parent then trusts a recorded erasure instead of verifying the store a second time.
   */
  readonly verifiesBeforeCommit?: boolean;
  /**
   * The subject's own store, when it can do it in one transaction: finds the subject by `ref`
   * (locking its row), snapshots it, erases and verifies, and calls `record` with the snapshot,
   * steps and transaction id before COMMIT — `record` may throw to roll everything back (a legal
   * hold). Null when no subject matches (nothing changed).
   */
  resolveAndErase?(
    ref: SubjectRef,
    record: (snapshot: SubjectSnapshot, steps: StepCount[], xid: string) => Promise<void>,
  ): Promise<{ snapshot: SubjectSnapshot; steps: StepCount[] } | null>;
  /**
   * True when an erasure may wait on someone else (a processor that answers 202, or is down for a
   * while). The request's entry job tries the store once; when it has to wait, the store continues
   * in a job of its own in the request's flow, which can be delayed without holding anything else.
   * Other stores are erased by the entry job itself, so a request whose stores all finish at once
   * needs no flow at all. (Default: false.)
   */
  readonly needsOwnJob?: boolean;
  /** The subject's own store finds the subject by key or identity and snapshots it (null: no such subject). */
  resolveSubject?(ref: SubjectRef): Promise<SubjectSnapshot | null>;
  /**
   * The subject's own store finds the subject whose identity `name`, normalised by its match rule,
   * has the SHA-256 digest `sha256Hex` (OpenDSR hashed identities); returns the subject key, or null.
   */
  findByHashedIdentity?(name: string, sha256Hex: string): Promise<string | null>;
  /**
   * The subject's own store walks every subject it holds, calling `onBatch` with their identities
   * (`id` and each identity of the data map, as text; absent when null). Read-only; memory is one batch.
   */
  scanSubjects?(onBatch: (subjects: Array<Record<string, string>>) => void, batchSize?: number): Promise<{ scanned: number }>;
  /**
   * For transactional stores: whether a recorded transaction committed (`txid_status`).
   * Absent for stores whose erase is idempotent by nature.
   */
  transactionStatus?(xid: string): Promise<string | null>;
  /**
   * The leftover audit: reads every text-like value of the store, hands each to `matches` (a
   * keyed-hash test against the erasure ledger) and returns table, column and count of the
   * matches, never a value. Absent: the kind is not audited (the report says so).
   */
  scanLeftovers?(options: LeftoverScanOptions): Promise<LeftoverScanResult>;
  /** For stores holding a connection of their own (redis): closes it. A later call reconnects lazily. */
  close?(): Promise<void>;
}

/** What an exporter gets for one request. */
export interface ExportStoreContext {
  requestId: string;
  /** Data-map name of the store. */
  store: string;
  /** The subject's identities and link values, snapshotted when the request started. */
  snapshot: SubjectSnapshot;
  logger: Logger;
  /** Aborts a long export (the job was cancelled, the worker is closing). */
  signal?: AbortSignal;
}

/** A store as the export sees it (the export side of a kind): adds the subject's data to the sink, read-only. */
export interface StoreExporter {
  readonly kind: string;
  exportStore(ctx: ExportStoreContext, sink: ExportSink): Promise<void>;
  /** For exporters holding a connection of their own (redis): closes it. A later export reconnects lazily. */
  close?(): Promise<void>;
}

/**
 * What adapters and exporters are built from: the process's services as a kind sees them. `ds`
 * (Lethe's own database) only where a kind keeps state there (webhook: `lethe.processor_call`).
 */
export type StoreDeps = Pick<Services, "dataMap" | "config" | "pools" | "logger"> & Partial<Pick<Services, "ds">>;

/** One problem a kind's `lethe check` rules found. */
export interface StoreCheckProblem<Rule extends string = string> {
  /** Data-map key path, e.g. `stores.cache.keys.0.pattern`. */
  key: string;
  rule: Rule;
  /** What is wrong and what to do; names schema objects and patterns, never identity values. */
  message: string;
  /** `warning`: reported by `lethe check` but does not make the map unusable. (Default: an error.) */
  severity?: "warning";
}

/** How the leftover audit reads a store. */
export interface LeftoverScanOptions {
  /** True when the value (as stored) is an erased subject's identity by its keyed hash. */
  matches(value: string): boolean;
  /** Rows per read (memory stays at one batch). */
  batchSize: number;
  /** Statement timeout of each read. */
  statementTimeoutMs: number;
  signal?: AbortSignal;
}

/** Where the leftover audit found erased subjects' identities: names and counts only. */
export interface LeftoverFinding {
  store: string;
  table: string;
  column: string;
  count: number;
}

/** What one store's leftover scan read and found. */
export interface LeftoverScanResult {
  findings: LeftoverFinding[];
  /** Rows read. */
  rows: number;
  /** Values compared (rows × text columns). */
  values: number;
}

/** A connection a check opened to a SQL store (a `pg` Client or Pool); the check ends it. */
export type SqlConnection = Pick<ClientBase | Pool, "query"> & { end(): Promise<void> };

/** How `lethe check` reaches the stores. */
export interface CheckOptions {
  /** Opens a connection to a SQL store URL. (Default: a `pg` Client, 10 s connect timeout.) */
  connect?: (url: string) => SqlConnection | Promise<SqlConnection>;
}

/** One line of the info sheet's "data we hold" table, as a kind describes its store. */
export interface InfoSheetRow {
  /** The table this row describes; absent for a store without tables (then `label` names its kind). */
  table?: string;
  /** What the store is, for a store without tables (e.g. "key-value store"). */
  label?: string;
  purpose: string | undefined;
  /** Category → columns holding it. */
  categories: Map<string, string[]>;
  /** How long the rows are kept (ISO 8601), when declared. */
  period?: string;
  /** The legal ground rows are kept for, when the table's action is `keep`. */
  keptFor?: string;
  rows: number;
  /** The entries of the archive the row links to. */
  files: ManifestEntry[];
}

/** What the info sheet says of one store. */
export interface StoreDescription {
  rows: InfoSheetRow[];
  /** Set for a processor (a recipient whose data is not in the archive). */
  processor?: { purpose: string | undefined };
}

/** Reports one problem of a declaration at a path relative to the store, e.g. `["tables", "orders", "ground"]`. */
export type IssueAt = (path: Array<string | number>, message: string) => void;

/** Any kind's data-map schema: a zod object whose `kind` is a literal. */
export type StoreSchema = z.ZodType<{ kind: string }>;

/**
 * A store kind: its data-map schema fragment, its `lethe check` rules, and the two sides Lethe
 * uses at run time (erase: preview/erase/verify; export). `Schema` is the kind's zod object;
 * `Rule` the ids of its check rules.
 */
export interface StoreKind<Schema extends StoreSchema = StoreSchema, Rule extends string = string> {
  /** The data map's `kind` value. */
  readonly kind: z.output<Schema>["kind"];
  /** The data-map schema fragment of one store of this kind (joins the data map's `stores` union). */
  readonly schema: Schema;
  /**
   * Whether `table` is declared in the store, for the subject table. Absent: the subject cannot
   * live in a store of this kind (its adapter has no `resolveSubject`).
   */
  hasSubjectTable?(spec: z.output<Schema>, table: string): boolean;
  /** Whether retention policies may name a store of this kind (retention sweeps). */
  readonly sweeps: boolean;
  /** Cross-field rules of a declaration zod cannot express per field; problems are reported through `issue`. */
  refine?(spec: z.output<Schema>, issue: IssueAt): void;
  /** Replaces `${VAR}` in the declaration's connection strings and secrets, in place (`fill(key, text)`). */
  interpolate(spec: z.output<Schema>, fill: (key: string, text: string) => string): void;
  /** The ids of the `lethe check` rules this kind applies. */
  readonly checkRules: readonly Rule[];
  /** `lethe check`: the declaration against the live store. Every problem at once; names objects, never values. */
  check(map: DataMap, name: string, spec: z.output<Schema>, options: CheckOptions): Promise<Array<StoreCheckProblem<Rule>>>;
  /**
   * What the data map's fingerprint includes of the live store besides its declaration: for a
   * database, which one it is (no credentials) and the shape of the mapped schema. JSON-able.
   * Absent: the declaration alone (secrets left out) identifies the store.
   */
  fingerprint?(spec: z.output<Schema>, options: CheckOptions): Promise<unknown>;
  /** What `lethe check` prints of a store that checks clean, e.g. "12 tables, 2 ignored". */
  summary(spec: z.output<Schema>): string;
  /** The erase side of store `store`; built once per process. */
  adapter(store: string, deps: StoreDeps): StoreAdapter;
  /** The export side of store `store`; built once per process. Absent: exports fail closed (`store_not_exportable`). */
  exporter?(store: string, deps: StoreDeps): StoreExporter;
  /** What the export's info sheet says of the store, given the archive's entries of this store. */
  describe(store: string, spec: z.output<Schema>, entries: ManifestEntry[]): StoreDescription;
  /** Breach: finds the people breached rows of this store belong to. Absent: a breach scope cannot name a store of this kind. */
  affected?(store: string, deps: StoreDeps): AffectedLocator;
  /** The other rights (rectification, restriction, objection, consent withdrawal; `stores/rights-side`). Absent: nothing to do here. */
  readonly rights?: RightsKind<z.output<Schema>>;
}
