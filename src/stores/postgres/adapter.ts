import type { StoreAdapter, StoreDeps } from "../store-kind";
import { eraseStore, previewStore, resolveAndEraseStore, resolveSubject, transactionStatus, verifyStore } from "./erase";
import { findByHashedIdentity } from "./hashed-identity";
import { scanLeftovers } from "./scan-leftovers";
import { scanSubjects } from "./scan-subjects";
import { buildStorePlan, type StorePlan } from "./store-plan";

/**
 * The erase side of the postgres kind: the store's tables erased in FK order in one transaction,
 * verified inside it, recorded (with its xid) before COMMIT. The plan is built once per process
 * from the data map and the live schema, and compiled into one server-side function (`compile`).
 */
export function postgresAdapter(store: string, deps: StoreDeps): StoreAdapter {
  let plan: Promise<StorePlan> | undefined;
  const planOf = (): Promise<StorePlan> => {
    plan ??= deps.pools.schema(store).then((schema) => buildStorePlan(deps.dataMap, store, schema));
    plan.catch(() => (plan = undefined));
    return plan;
  };
  const pool = () => deps.pools.pool(store);
  // The compiled erasure's calls go over pipelined connections (BEGIN travels with the call).
  const erasing = () => deps.pools.pipelinedPool(store);
  return {
    kind: "postgres",
    verifiesBeforeCommit: true,
    async preview(ctx) {
      return previewStore(erasing(), await planOf(), deps.dataMap, ctx.snapshot);
    },
    async erase(ctx, record) {
      const steps = await eraseStore(erasing(), await planOf(), deps.dataMap, ctx.snapshot, (xid, counted) => record(counted, xid));
      return { state: "done", steps };
    },
    async verify(ctx) {
      return verifyStore(erasing(), await planOf(), deps.dataMap, ctx.snapshot);
    },
    async resolveAndErase(ref, record) {
      return resolveAndEraseStore(erasing(), await planOf(), deps.dataMap, ref, (xid, steps, snapshot) => record(snapshot, steps, xid));
    },
    async resolveSubject(ref) {
      return resolveSubject(pool(), await planOf(), deps.dataMap, ref);
    },
    async findByHashedIdentity(name, sha256Hex) {
      return findByHashedIdentity(pool(), await planOf(), deps.dataMap, name, sha256Hex);
    },
    scanSubjects(onBatch, batchSize) {
      return scanSubjects(pool(), deps.pools.spec(store), deps.dataMap, onBatch, batchSize);
    },
    transactionStatus(xid) {
      return transactionStatus(pool(), xid);
    },
    async scanLeftovers(options) {
      return scanLeftovers(pool(), await deps.pools.schema(store), store, options);
    },
  };
}
