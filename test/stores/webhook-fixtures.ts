import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { DataSource } from "typeorm";
import type { Config } from "../../src/config";
import { parseDataMap } from "../../src/datamap/load";
import type { DataMap } from "../../src/datamap/schema";
import { createLogger } from "../../src/logger";
import { StorePools } from "../../src/stores/postgres/pools";
import type { StoreDeps, StoreRunContext } from "../../src/stores/store-kind";
import type { StepCount } from "../../src/types";
import { verifyLetheSignature } from "../../src/webhook/verify-signature";

/** The signing secret the test processor and the data map share. */
export const SECRET = "test-processor-secret-0123456789";

/** One call the test processor received, with its signature checked by {@link verifyLetheSignature}. */
export interface ReceivedCall {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: string;
  signatureValid: boolean;
}

/** What the processor answers; `hang` never answers (until the server closes). */
export type Answer = { status: number; json?: unknown } | { hang: true };

/** A real HTTP processor on 127.0.0.1. */
export interface TestProcessor {
  port: number;
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  base: string;
  calls: ReceivedCall[];
  /** Decides the answer to each call; replace it between steps. */
  answer: (call: ReceivedCall) => Answer;
  close(): Promise<void>;
}

/** A port nothing listens on right now (bound once and released). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Starts a processor on `port` (Default: any free port) that verifies every call's signature. */
export async function startProcessor(answer: (call: ReceivedCall) => Answer = () => ({ status: 200 }), port = 0): Promise<TestProcessor> {
  const hanging = new Set<ServerResponse>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const rawBody = Buffer.concat(chunks).toString("utf8");
      const header = (name: string) => (typeof req.headers[name] === "string" ? (req.headers[name] as string) : undefined);
      const call: ReceivedCall = {
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        rawBody,
        signatureValid: verifyLetheSignature({ secret: SECRET, timestamp: header("lethe-timestamp"), signature: header("lethe-signature"), rawBody }),
      };
      processor.calls.push(call);
      const a = processor.answer(call);
      if ("hang" in a) {
        hanging.add(res);
        return;
      }
      if (a.json === undefined) res.writeHead(a.status).end();
      else res.writeHead(a.status, { "content-type": "application/json" }).end(JSON.stringify(a.json));
    });
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  const bound = (server.address() as AddressInfo).port;
  const processor: TestProcessor = {
    port: bound,
    base: `http://127.0.0.1:${bound}`,
    calls: [],
    answer,
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  return processor;
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

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
