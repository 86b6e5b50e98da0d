import { Queue } from "bullmq";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import type { Redis } from "ioredis";
import type { DataSource } from "typeorm";
import type { Config } from "../../src/config";
import type { DataMap } from "../../src/datamap/schema";
import { PermanentError } from "../../src/errors";
import { buildServer } from "../../src/http/server";
import { createLogger } from "../../src/logger";
import { createRedis } from "../../src/queues/connection";
import { QUEUES } from "../../src/queues/names";
import type { StoreAdapter } from "../../src/stores/store-kind";
import { webhookAdapter } from "../../src/stores/webhook/webhook-adapter";
import { signLethePayload } from "../../src/webhook/verify-signature";
import { testConfig } from "../helpers/config";
import { migratedLetheDb, type ScratchDb } from "../helpers/db";
import { expectProblem } from "../http/harness";
import type { FakeProcessor } from "../helpers/fake-processor";
import { callRow, crmCtx, insertRequest, recorder, SECRET, startProcessor, webhookDeps, webhookMap } from "./webhook-fixtures";

const EMAIL = "grace.hopper+callback@example.org";
const PUBLIC_URL = "https://lethe.example.test";

let db: ScratchDb;
let ds: DataSource;
let config: Config;
let map: DataMap;
let redis: Redis;
let erasure: Queue;
let maintenance: Queue;
let app: FastifyInstance;
let p: FakeProcessor;
let adapter: StoreAdapter;

beforeAll(async () => {
  ({ db, ds } = await migratedLetheDb());
  config = testConfig({ LETHE_PUBLIC_URL: PUBLIC_URL });
  p = await startProcessor(() => ({ status: 202, json: { queued: true } }));
  map = webhookMap(`${p.base}/gdpr`, { pollIntervalMs: 60_000 });
  redis = createRedis(config.redisUrl, "producer");
  const connection = { connection: redis, prefix: config.queuePrefix };
  erasure = new Queue(QUEUES.erasure, connection);
  maintenance = new Queue(QUEUES.maintenance, connection);
  app = await buildServer({ ds, config, dataMap: map, queues: { erasure, maintenance }, redis, logger: createLogger("silent") });
  adapter = webhookAdapter("crm", webhookDeps(map, config, ds));
});

afterAll(async () => {
  await app?.close();
  for (const q of [erasure, maintenance]) {
    await q?.obliterate({ force: true });
    await q?.close();
  }
  if (redis) {
    const left = await redis.keys(`${config.queuePrefix}:*`);
    if (left.length > 0) await redis.del(...left);
    await redis.quit();
  }
  await p?.close();
  await ds?.destroy();
  await db?.drop();
});

/** Starts an erasure the processor accepts (202); returns the request id and the callback path Lethe sent. */
async function acceptedCall(): Promise<{ requestId: string; path: string }> {
  const requestId = await insertRequest(ds);
  const outcome = await adapter.erase(crmCtx(requestId, { id: "9", email: EMAIL }), recorder().record);
  expect(outcome).toEqual({ state: "pending", steps: [], checkAgainInMs: 60_000 });
  const sent = p.calls.filter((c) => JSON.parse(c.rawBody).requestId === requestId);
  expect(sent).toHaveLength(1);
  const url = new URL(JSON.parse(sent[0]!.rawBody).callbackUrl as string);
  expect(url.origin).toBe(PUBLIC_URL);
  return { requestId, path: url.pathname };
}

interface CallbackOptions {
  secret?: string;
  timestamp?: number;
  body?: string;
  headers?: Record<string, string>;
}

function callback(path: string, status: unknown, options: CallbackOptions = {}): Promise<LightMyRequestResponse> {
  const body = options.body ?? JSON.stringify(status);
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  return app.inject({
    method: "POST",
    url: path,
    headers: {
      "content-type": "application/json",
      "lethe-timestamp": String(timestamp),
      "lethe-signature": signLethePayload(options.secret ?? SECRET, body, timestamp),
      ...options.headers,
    },
    payload: body,
  });
}

describe("POST /v1/callbacks/:token", () => {
  it("marks an accepted call done, promotes the waiting store job, and the next erase() is done", async () => {
    const { requestId, path } = await acceptedCall();
    const job = await erasure.add("erase-store", { requestId, store: "crm" }, { jobId: `erasure-${requestId}-crm`, delay: 60_000 });
    expect(await job.getState()).toBe("delayed");

    const res = await callback(path, { status: "done" });
    expect(res.statusCode).toBe(204);
    const row = await callRow(ds, requestId);
    expect(row.status).toBe("done");
    expect(await job.getState()).toBe("waiting");

    const rec = recorder();
    const done = [{ store: "crm", table: "processor", action: "notified", rows: 1 }];
    expect(await adapter.erase(crmCtx(requestId, { id: "9", email: EMAIL }), rec.record)).toEqual({ state: "done", steps: done });
    expect(rec.calls).toEqual([done]);
    expect(await adapter.verify(crmCtx(requestId, { id: "9", email: EMAIL }))).toEqual([]);
  });

  it("rejects forged, stale, unsigned and malformed callbacks and changes nothing", async () => {
    const { requestId, path } = await acceptedCall();
    const before = await callRow(ds, requestId);

    const forged = expectProblem(await callback(path, { status: "done" }, { secret: "not-the-processor-secret-000" }), 401);
    expect(forged.detail).toContain("Lethe-Signature");
    // A valid signature over another body does not carry over.
    const tampered = await app.inject({
      method: "POST",
      url: path,
      headers: {
        "content-type": "application/json",
        "lethe-timestamp": String(Math.floor(Date.now() / 1000)),
        "lethe-signature": signLethePayload(SECRET, '{"status":"failed"}', Math.floor(Date.now() / 1000)),
      },
      payload: '{"status":"done"}',
    });
    expectProblem(tampered, 401);
    const stale = expectProblem(await callback(path, { status: "done" }, { timestamp: Math.floor(Date.now() / 1000) - 600 }), 401);
    expect(stale.detail).toContain("Lethe-Timestamp");
    expectProblem(await app.inject({ method: "POST", url: path, headers: { "content-type": "application/json" }, payload: '{"status":"done"}' }), 401);
    expectProblem(await callback(path, { status: "maybe" }), 400);
    expectProblem(await callback(path, null, { body: "{not json" }), 400);
    // Unknown and malformed tokens.
    expectProblem(await callback(`/v1/callbacks/${"A".repeat(43)}`, { status: "done" }), 404);
    expectProblem(await callback("/v1/callbacks/short", { status: "done" }), 404);

    const after = await callRow(ds, requestId);
    expect(after.status).toBe("accepted");
    expect(after.updated_at).toEqual(before.updated_at);
  });

  it("is single use: a replayed callback gets 409 and changes nothing", async () => {
    const { requestId, path } = await acceptedCall();
    const timestamp = Math.floor(Date.now() / 1000);
    expect((await callback(path, { status: "done" }, { timestamp })).statusCode).toBe(204);
    const done = await callRow(ds, requestId);

    const replay = expectProblem(await callback(path, { status: "done" }, { timestamp }), 409);
    expect(replay.type).toBe("urn:lethe:problem:callback-already-used");
    expectProblem(await callback(path, { status: "failed" }), 409);
    const after = await callRow(ds, requestId);
    expect(after.status).toBe("done");
    expect(after.updated_at).toEqual(done.updated_at);
  });

  it("lets exactly one of two simultaneous callbacks win", async () => {
    const { requestId, path } = await acceptedCall();
    const results = await Promise.all([callback(path, { status: "done" }), callback(path, { status: "failed", reason: "late" })]);
    expect(results.map((r) => r.statusCode).sort((a, b) => a - b)).toEqual([204, 409]);
    const row = await callRow(ds, requestId);
    expect(row.status).toBe(results[0]!.statusCode === 204 ? "done" : "failed");
  });

  it("records a failed callback; the next erase() fails permanently; free-text reasons are not kept", async () => {
    const { requestId, path } = await acceptedCall();
    expect((await callback(path, { status: "failed", reason: "subject_under_legal_hold" })).statusCode).toBe(204);
    const ctx = crmCtx(requestId, { id: "9", email: EMAIL });
    await expect(adapter.erase(ctx, recorder().record)).rejects.toEqual(
      expect.objectContaining({
        code: "processor_failed",
        message: 'store "crm": the processor reported that the erasure failed (reason: subject_under_legal_hold)',
      }),
    );
    await expect(adapter.erase(ctx, recorder().record)).rejects.toBeInstanceOf(PermanentError);

    const second = await acceptedCall();
    expect((await callback(second.path, { status: "failed", reason: `no customer ${EMAIL}` })).statusCode).toBe(204);
    const row = await callRow(ds, second.requestId);
    expect(row.status).toBe("failed");
    expect(row.failure_reason).toBeNull();
    expect(row.whole).not.toContain(EMAIL);
  });

  it("keeps the raw-body parser to itself: /v1/requests still parses JSON", async () => {
    const res = await app.inject({
      method: "POST",
      url: "/v1/requests",
      headers: { "content-type": "application/json", authorization: `Bearer ${config.apiKeys[0]!.key}` },
      payload: { type: "nope", subject: {} },
    });
    const problem = expectProblem(res, 400);
    expect(JSON.stringify(problem.errors)).toContain("type");
  });
});
