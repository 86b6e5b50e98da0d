import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { createLogger } from "../../src/logger";
import type { RawDataMap } from "../helpers/data-maps";
import type { WorkerHandle } from "../../workers/worker";
import { TEST_KEYS } from "../helpers/config";
import { startSmtpCatcher, type SmtpCatcher } from "../helpers/smtp";
import { startTrackedWorker } from "../helpers/harness";
import { createMultiStore, type MultiStore, type MultiStoreOptions, type Subject } from "../multi-store/fixture";
import type { Behaviour } from "../helpers/fake-processor";

/**
 * The world of the rights tests: the multi-store shop (postgres, redis, files, processors `crm`
 * and `mailer`, the real API) with a data map that declares what the rights need — purposes
 * with bases and processors, copies of the email (`orders.billing_email` mirrors it; the tickets'
 * `via` column follows it), processors' fields, a hash field that holds the email, a manual
 * recipient — an SMTP catcher, a `dpo` API key, and every log line of the in-process workers
 * kept so a test can look for markers in them.
 */

/** The `dpo` key of the rights tests. */
export const DPO_KEY = "test-dpo-key-000000000004";

/** The manual recipient (declared without a processor). */
export const TAX_ADVISOR = "Tax advisor";

/** What the world adds to the multi-store one. */
export interface RightsWorld extends MultiStore {
  smtp: SmtpCatcher;
  /** Every log line the in-process workers and the API wrote. */
  logs: string[];
  /** Starts in-process workers on `queues` (Default: every queue but retention and export). */
  startRights(queues?: Array<"erasure" | "maintenance" | "rights" | "mail" | "retention" | "export">): Promise<WorkerHandle>;
  /** A call to the API with the `dpo` key (`key`: another). */
  as<T = unknown>(key: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: T }>;
  /** Seeds a marked customer plus the hash field that holds their email (`<prefix>:emails`). */
  addRightsSubject(label: string): Promise<Subject>;
}

/** Options of {@link createRightsWorld}. */
export interface RightsWorldOptions {
  crm?: Behaviour;
  mailer?: Behaviour;
  env?: Record<string, string>;
  editMap?: (raw: RawDataMap, ctx: { prefix: string }) => void;
  smtpReject?: number;
}

/** Builds the world. Pair with `cleanup()`. */
export async function createRightsWorld(opts: RightsWorldOptions = {}): Promise<RightsWorld> {
  const smtp = await startSmtpCatcher(opts.smtpReject ? { rejectRcpt: opts.smtpReject } : {});
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(chunk.toString("utf8"));
      done();
    },
  });
  const edit: MultiStoreOptions["editMap"] = (raw, ctx) => {
    const r = raw as RawDataMap & { stores: Record<string, Record<string, unknown>>; purposes?: unknown; recipients?: unknown; controller?: unknown };
    const tables = r.stores.shop!.tables as Record<string, { fields: Record<string, Record<string, unknown>> }>;
    tables.orders!.fields.billing_email!.mirrors = "customers.email";
    const cache = r.stores.cache as { keys: Array<Record<string, unknown>>; hashFields: Array<Record<string, unknown>> };
    cache.keys[0]!.rectify = "keep"; // sessions hold no field
    cache.hashFields.push({ key: `${ctx.prefix}:emails`, field: "{id}", holds: "email" });
    r.stores.crm!.fields = ["email", "full_name"];
    r.stores.mailer!.fields = ["email"];
    r.controller = { name: "Demo Shop GmbH", contact: "privacy@shop.example", supervisoryAuthority: "Berliner Beauftragte für Datenschutz" };
    r.purposes = [
      { name: "newsletter", basis: "6(1)(a)", directMarketing: true, processors: ["mailer"], erasedOnWithdrawal: ["phone"] },
      { name: "fraud-prevention", basis: "6(1)(f)", processors: ["crm"] },
      { name: "orders", basis: "6(1)(b)" },
    ];
    r.recipients = [
      { name: "CRM Inc.", purpose: "orders", store: "crm" },
      { name: "Mailer Ltd.", purpose: "newsletter", store: "mailer" },
      { name: TAX_ADVISOR, purpose: "orders" },
    ];
    opts.editMap?.(raw, ctx);
  };
  const w = await createMultiStore({
    editMap: edit,
    ...(opts.crm ? { crm: opts.crm } : {}),
    mailer: opts.mailer ?? (() => ({ status: 200 })),
    env: {
      SMTP_URL: smtp.url,
      LETHE_API_KEYS: `app:${TEST_KEYS.writer}:requests.write|requests.read;dpo:${DPO_KEY}:dpo|requests.read`,
      ...opts.env,
    },
  });
  const logger = createLogger("debug", sink);
  const handles: WorkerHandle[] = [];
  return {
    ...w,
    smtp,
    logs,
    async startRights(queues = ["erasure", "maintenance", "rights", "mail"]) {
      const handle = await startTrackedWorker(w.config, { queues, dataMap: w.h.dataMap, logger });
      handles.push(handle);
      return handle;
    },
    async as<T>(key: string, method: string, path: string, body?: unknown) {
      const res = await fetch(`${w.api.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const t = await res.text();
      return { status: res.status, json: (t ? JSON.parse(t) : null) as T };
    },
    async addRightsSubject(label) {
      const s = await w.addSubject(`${label}-${randomBytes(2).toString("hex")}`);
      await w.h.redis.hset(`${w.prefix}:emails`, String(s.id), s.email);
      return s;
    },
    async cleanup() {
      for (const h of handles.splice(0)) await h.close().catch(() => undefined);
      await w.cleanup();
      await smtp.close();
    },
  };
}
