import type { DataSource } from "typeorm";
import type { Config } from "../../src/config";
import { parseDataMap } from "../../src/datamap/load";
import type { DataMap } from "../../src/datamap/schema";
import { createLogger } from "../../src/logger";
import { StorePools } from "../../src/stores/postgres/pools";
import type { StoreDeps, StoreRunContext } from "../../src/stores/store-kind";
import type { StepCount } from "../../src/types";
import { startFakeProcessor, type Behaviour, type FakeProcessor } from "../helpers/fake-processor";

/** The signing secret the test processor and the data map share. */
export const SECRET = "test-processor-secret-0123456789";

/** The fake processor (test/helpers/fake-processor.ts) with the `crm` store's secret, answering `answer` (Default: 200) on `port` (Default: any). */
export function startProcessor(answer?: Behaviour, port?: number): Promise<FakeProcessor> {
  return startFakeProcessor({ name: "crm", secret: SECRET, ...(answer ? { answer } : {}), ...(port ? { port } : {}) });
}

/** A data map with a postgres subject store (never connected) and the webhook store `crm` at `url`. */
export function webhookMap(url: string, crm: Record<string, unknown> = {}): DataMap {
  return parseDataMap(
    {
      version: 1,
      subject: { store: "shop", table: "customers", key: "id", identities: { email: "email", phone: "phone" } },
      stores: {
        shop: { kind: "postgres", url: "postgres://postgres@127.0.0.1:1/none", tables: { customers: { action: "delete" } } },
        crm: { kind: "webhook", url: "${CRM_URL}", secret: "${CRM_WEBHOOK_SECRET}", identities: ["email"], ...crm },
      },
    },
    "(test)",
    { CRM_URL: url, CRM_WEBHOOK_SECRET: SECRET },
  );
}

/** Adapter dependencies on Lethe's database `ds`. */
export function webhookDeps(map: DataMap, config: Config, ds: DataSource): StoreDeps {
  return { dataMap: map, config, pools: new StorePools(map), logger: createLogger("silent"), ds };
}

/** A subject request row (the call rows reference it); returns its id. */
export async function insertRequest(ds: DataSource): Promise<string> {
  const rows = (await ds.query(
    `INSERT INTO lethe.subject_request (type, status, due_at, subject_hash, requested_by)
     VALUES ('erasure', 'running', now() + interval '30 days', 'test-hash', 'test') RETURNING id`,
  )) as Array<{ id: string }>;
  return rows[0]!.id;
}

/** A run context for store `crm` of request `requestId`. */
export function crmCtx(requestId: string, identities: Record<string, string>): StoreRunContext {
  return { requestId, store: "crm", snapshot: { identities, seed: {} }, logger: createLogger("silent") };
}

/** A `record` callback that keeps what it was given. */
export function recorder(): { calls: StepCount[][]; record: (steps: StepCount[]) => Promise<void> } {
  const calls: StepCount[][] = [];
  return { calls, record: async (steps) => void calls.push(steps) };
}

/** The call row as stored, plus its whole text (to search for values that must not be there). */
export async function callRow(ds: DataSource, requestId: string): Promise<Record<string, unknown> & { whole: string; status: string }> {
  const rows = (await ds.query(`SELECT c.*, c::text AS whole FROM lethe.processor_call c WHERE request_id = $1 AND store = 'crm'`, [requestId])) as Array<
    Record<string, unknown> & { whole: string; status: string }
  >;
  if (!rows[0]) throw new Error("no processor_call row");
  return rows[0];
}

/**
 * Moves the `crm` call of `requestId` an hour into the past (its first attempt and its deadline
 * alike), as if the processor had been waited for that long: its deadline has then passed by the
 * database's clock, which is the clock the adapter asks.
 */
export async function ageCall(ds: DataSource, requestId: string): Promise<void> {
  const [aged] = (await ds.query(
    `WITH aged AS (
       UPDATE lethe.processor_call SET first_attempt_at = first_attempt_at - interval '1 hour', deadline_at = deadline_at - interval '1 hour'
        WHERE request_id = $1 AND store = 'crm' RETURNING 1)
     SELECT count(*)::int AS n FROM aged`,
    [requestId],
  )) as Array<{ n: number }>;
  if (aged?.n !== 1) throw new Error("no processor_call row to age");
}
