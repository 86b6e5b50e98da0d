import { EntitySchema } from "typeorm";

/** Progress of one request in one store; makes a retry resume at the unfinished stores. */
export type StoreRunStatus = "pending" | "prepared" | "done" | "failed";

/** One request's run in one store. */
export interface RequestStore {
  requestId: string;
  store: string;
  status: StoreRunStatus;
  /**
   * Postgres transaction id of the store's erasure transaction, recorded before COMMIT, so a
   * worker that died between COMMIT and recording `done` can ask `txid_status()` what happened.
   */
  xid: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  finishedAt: Date | null;
}

/** TypeORM mapping of {@link RequestStore}. */
export const RequestStoreEntity = new EntitySchema<RequestStore>({
  name: "RequestStore",
  tableName: "request_store",
  schema: "lethe",
  columns: {
    requestId: { type: "uuid", name: "request_id", primary: true },
    store: { type: "text", primary: true },
    status: { type: "text" },
    xid: { type: "bigint", nullable: true },
    errorCode: { type: "text", name: "error_code", nullable: true },
    errorMessage: { type: "text", name: "error_message", nullable: true },
    finishedAt: { type: "timestamptz", name: "finished_at", nullable: true },
  },
});
