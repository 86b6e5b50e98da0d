import type { DataSource } from "typeorm";
import type { Config } from "../config";
import type { DataMap } from "../datamap/schema";
import type { SubjectSnapshot } from "../erasure/postgres-erasure";
import type { Logger } from "../logger";
import type { StorePools } from "../pg/store-pools";
import type { StepCount } from "../types";

/**
 * The one interface every store kind implements (postgres, redis, files, webhook). Adding a
 * kind touches one folder: its data-map schema, its adapter, its `lethe check` rules, and one
 * line in `stores/registry.ts`.
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

/** A store as the erasure runner sees it. */
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
   * (Postgres: inside the erasure transaction, before COMMIT). The finalizing parent then trusts
   * a committed erasure instead of verifying the store a second time.
   */
  readonly verifiesBeforeCommit?: boolean;
  /** The subject's own store finds the subject by key or identity and snapshots it (null: no such subject). */
  resolveSubject?(ref: { name: string; value: string }): Promise<SubjectSnapshot | null>;
  /**
   * For transactional stores: whether a recorded transaction committed (`txid_status`).
   * Absent for stores whose erase is idempotent by nature.
   */
  transactionStatus?(xid: string): Promise<string | null>;
  /** For stores holding a connection of their own (redis): closes it. A later call reconnects lazily. */
  close?(): Promise<void>;
}

/** What adapters are built from; one per worker process. */
export interface StoreDeps {
  dataMap: DataMap;
  config: Config;
  pools: StorePools;
  logger: Logger;
  /** Lethe's own database; webhook stores need it (their calls live in `lethe.processor_call`). */
  ds?: DataSource;
}
