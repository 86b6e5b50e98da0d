import { UnrecoverableError } from "bullmq";
import type { DataSource } from "typeorm";
import type { Config } from "../../src/config";
import { sha256Hex } from "../../src/crypto";
import { PermanentError } from "../../src/errors";
import { ProcessorUnavailableError } from "../../src/stores/webhook/errors";
import { webhookAdapter } from "../../src/stores/webhook/webhook-adapter";
import { verifyLetheSignature } from "../../src/webhook/verify-signature";
import { testConfig } from "../helpers/config";
import { migratedLetheDb, type ScratchDb } from "../helpers/db";
import { freePort } from "../../support/free-port";
import type { FakeProcessor } from "../helpers/fake-processor";
import { ageCall, callRow, crmCtx, insertRequest, recorder, startProcessor, webhookDeps, webhookMap } from "./webhook-fixtures";

const EMAIL = "ada.lovelace+crm@example.org";
const PHONE = "+44 20 7946 0000";
const PUBLIC_URL = "https://lethe.example.test";
const IDENTITIES = { id: "42", email: EMAIL, phone: PHONE };
const NOTIFIED = [{ store: "crm", table: "processor", action: "notified", rows: 1 }];

let db: ScratchDb;
let ds: DataSource;
let config: Config;
const processors: FakeProcessor[] = [];

beforeAll(async () => {
  ({ db, ds } = await migratedLetheDb());
  config = testConfig({ LETHE_PUBLIC_URL: PUBLIC_URL });
});

afterEach(async () => {
  for (const p of processors.splice(0)) await p.close();
});

afterAll(async () => {
  await ds?.destroy();
  await db?.drop();
});

async function processor(...args: Parameters<typeof startProcessor>): Promise<FakeProcessor> {
  const p = await startProcessor(...args);
  processors.push(p);
  return p;
}

function adapterFor(url: string, crm: Record<string, unknown> = {}) {
  return webhookAdapter("crm", webhookDeps(webhookMap(url, crm), config, ds));
}

/** The error `p` rejects with (fails the test when it resolves). */
async function failure(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error("expected a rejection");
}

describe("webhook store: immediate answers", () => {
  it("POSTs a signed erase call with only the allowed identities; a 200 is done and recorded", async () => {
    const p = await processor(() => ({ status: 200, json: { ok: true } }));
    const adapter = adapterFor(`${p.base}/gdpr`);
    const requestId = await insertRequest(ds);
    const ctx = crmCtx(requestId, IDENTITIES);
    const rec = recorder();

    expect(await adapter.preview(ctx)).toEqual(NOTIFIED);
    expect(p.calls).toHaveLength(0);

    const outcome = await adapter.erase(ctx, rec.record);
    expect(outcome).toEqual({ state: "done", steps: NOTIFIED });
    expect(rec.calls).toEqual([NOTIFIED]);

    expect(p.calls).toHaveLength(1);
    const call = p.calls[0]!;
    expect(call.method).toBe("POST");
    expect(call.path).toBe("/gdpr");
    expect(call.signatureValid).toBe(true);
    expect(call.headers["content-type"]).toBe("application/json");
    expect(call.headers["idempotency-key"]).toBe(`erase-${requestId}-crm`);
    const ts = Number(call.headers["lethe-timestamp"]);
    expect(Math.abs(ts - Date.now() / 1000)).toBeLessThan(5);
    expect(call.headers["lethe-signature"]).toMatch(/^v1=[0-9a-f]{64}$/);
    // Signed over "<timestamp>.<raw body>" with the store's secret, and nothing else verifies.
    expect(
      verifyLetheSignature({ secret: "another-secret-0123456789", timestamp: ts, signature: String(call.headers["lethe-signature"]), rawBody: call.rawBody }),
    ).toBe(false);

    const body = JSON.parse(call.rawBody) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(["action", "requestId", "subject", "callbackUrl"]);
    expect(body.action).toBe("erase");
    expect(body.requestId).toBe(requestId);
    expect(body.subject).toEqual({ email: EMAIL });
    expect(call.rawBody).not.toContain(PHONE);
    expect(body.callbackUrl).toMatch(new RegExp(`^${PUBLIC_URL.replace(/\./g, "\\.")}/v1/callbacks/[A-Za-z0-9_-]{43}$`));

    // The row: done, the token only as its hash, no identity in clear.
    const token = String(body.callbackUrl).split("/").pop()!;
    const row = await callRow(ds, requestId);
    expect(row.status).toBe("done");
    expect(row.idempotency_key).toBe(`erase-${requestId}-crm`);
    expect(row.callback_token_hash).toBe(sha256Hex(token));
    expect(row.last_http_status).toBe(200);
    expect(row.attempts).toBe(1);
    expect(row.whole).not.toContain(token);
    expect(row.whole).not.toContain(EMAIL);
    expect(row.whole).not.toContain("@");

    expect(await adapter.verify(ctx)).toEqual([]);
    // Idempotent: a second erase is done without calling again.
    expect(await adapter.erase(ctx, rec.record)).toEqual({ state: "done", steps: NOTIFIED });
    expect(p.calls).toHaveLength(1);
  });

  it("sends id only when the store lists it", async () => {
    const p = await processor(() => ({ status: 204 }));
    const adapter = adapterFor(`${p.base}/gdpr`, { identities: ["id", "email"] });
    const requestId = await insertRequest(ds);
    expect((await adapter.erase(crmCtx(requestId, IDENTITIES), recorder().record)).state).toBe("done");
    expect(JSON.parse(p.calls[0]!.rawBody).subject).toEqual({ id: "42", email: EMAIL });
  });

  it("does not call when the subject has no identity the processor may see, and says so in the counts", async () => {
    const p = await processor();
    const adapter = adapterFor(`${p.base}/gdpr`);
    const requestId = await insertRequest(ds);
    const ctx = crmCtx(requestId, { id: "7" });
    const zero = [{ store: "crm", table: "processor", action: "notified", rows: 0 }];
    expect(await adapter.preview(ctx)).toEqual(zero);
    expect(await adapter.erase(ctx, recorder().record)).toEqual({ state: "done", steps: zero });
    expect(await adapter.verify(ctx)).toEqual([]);
    expect(p.calls).toHaveLength(0);
    expect(await ds.query(`SELECT 1 FROM lethe.processor_call WHERE request_id = $1`, [requestId])).toEqual([]);
  });

  it("fails permanently at once on a 400, naming the store and the status but not the subject", async () => {
    const p = await processor(() => ({ status: 400, json: { error: `unknown customer ${EMAIL}` } }));
    const adapter = adapterFor(`${p.base}/gdpr`);
    const requestId = await insertRequest(ds);
    const ctx = crmCtx(requestId, IDENTITIES);

    const err = await failure(adapter.erase(ctx, recorder().record));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err).toBeInstanceOf(UnrecoverableError);
    expect(err.code).toBe("processor_rejected");
    expect(err.message).toContain('store "crm"');
    expect(err.message).toContain("HTTP 400");
    expect(err.message).not.toContain(EMAIL);
    expect((await callRow(ds, requestId)).status).toBe("failed");
    expect(await adapter.verify(ctx)).toEqual(["processor: erasure not confirmed by the processor (call failed)"]);

    // A later attempt repeats the failure without calling again.
    const again = await failure(adapter.erase(ctx, recorder().record));
    expect(again).toBeInstanceOf(PermanentError);
    expect(again.code).toBe("processor_rejected");
    expect(p.calls).toHaveLength(1);
  });

  it("treats a redirect as a rejection and does not follow it", async () => {
    const p = await processor((c) => (c.path === "/gdpr" ? { status: 302, json: {} } : { status: 200 }));
    const adapter = adapterFor(`${p.base}/gdpr`);
    const requestId = await insertRequest(ds);
    const err = await failure(adapter.erase(crmCtx(requestId, IDENTITIES), recorder().record));
    expect(err.code).toBe("processor_rejected");
    expect(p.calls.map((c) => c.path)).toEqual(["/gdpr"]);
  });
});

describe("webhook store: retries", () => {
  it("retries while the processor is down or busy, with the same idempotency key and body, then succeeds", async () => {
    const port = await freePort();
    const adapter = adapterFor(`http://127.0.0.1:${port}/gdpr`);
    const requestId = await insertRequest(ds);
    const ctx = crmCtx(requestId, IDENTITIES);

    for (let i = 0; i < 2; i++) {
      const err = await failure(adapter.erase(ctx, recorder().record));
      expect(err).toBeInstanceOf(ProcessorUnavailableError);
      expect(err).not.toBeInstanceOf(PermanentError);
      expect(err.code).toBe("ECONNREFUSED");
      expect(err.message).toBe('store "crm": the processor could not be reached (ECONNREFUSED)');
    }
    const down = await callRow(ds, requestId);
    expect(down.status).toBe("sent");
    expect(down.attempts).toBe(2);
    expect(down.last_http_status).toBeNull();

    const answers = [503, 429, 200];
    const p = await processor(() => ({ status: answers.shift() ?? 500 }), port);
    for (const status of [503, 429]) {
      const err = await failure(adapter.erase(ctx, recorder().record));
      expect(err).toBeInstanceOf(ProcessorUnavailableError);
      expect(err.code).toBe(`HTTP_${status}`);
    }
    expect(await adapter.erase(ctx, recorder().record)).toEqual({ state: "done", steps: NOTIFIED });

    expect(p.calls).toHaveLength(3);
    expect(p.calls.every((c) => c.signatureValid)).toBe(true);
    expect(new Set(p.calls.map((c) => c.headers["idempotency-key"]))).toEqual(new Set([`erase-${requestId}-crm`]));
    // The body (callback URL included) is the same on every attempt.
    expect(new Set(p.calls.map((c) => c.rawBody)).size).toBe(1);
    const row = await callRow(ds, requestId);
    expect(row.status).toBe("done");
    expect(row.attempts).toBe(5);
  });

  it("treats a processor slower than timeoutMs as unreachable", async () => {
    const p = await processor(() => ({ hang: true }));
    const adapter = adapterFor(`${p.base}/gdpr`, { timeoutMs: 200 });
    const requestId = await insertRequest(ds);
    const err = await failure(adapter.erase(crmCtx(requestId, IDENTITIES), recorder().record));
    expect(err).toBeInstanceOf(ProcessorUnavailableError);
    expect(err.code).toBe("ETIMEDOUT");
  });

  it("fails permanently once the deadline from the first attempt has passed", async () => {
    const p = await processor(() => ({ status: 503 }));
    const adapter = adapterFor(`${p.base}/gdpr`, { deadline: "PT1S" });
    const requestId = await insertRequest(ds);
    const ctx = crmCtx(requestId, IDENTITIES);

    expect(await failure(adapter.erase(ctx, recorder().record))).toBeInstanceOf(ProcessorUnavailableError);
    const first = await callRow(ds, requestId);
    expect((first.deadline_at as Date).getTime() - (first.first_attempt_at as Date).getTime()).toBe(1000);
    await ageCall(ds, requestId);

    const err = await failure(adapter.erase(ctx, recorder().record));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.code).toBe("processor_deadline_exceeded");
    expect(err.message).toBe('store "crm": the processor did not confirm the erasure before the deadline (last answer: HTTP 503)');
    expect(p.calls).toHaveLength(1);
    expect((await callRow(ds, requestId)).status).toBe("failed");
  });
});

describe("webhook store: accepted (202)", () => {
  it("waits while accepted and fails at the deadline when nobody confirms", async () => {
    const p = await processor(() => ({ status: 202 }));
    const adapter = adapterFor(`${p.base}/gdpr`, { deadline: "PT1S", pollIntervalMs: 5000 });
    const requestId = await insertRequest(ds);
    const ctx = crmCtx(requestId, IDENTITIES);

    const first = await adapter.erase(ctx, recorder().record);
    expect(first.state).toBe("pending");
    // Looks again no later than just after the deadline.
    expect(first.state === "pending" && first.checkAgainInMs).toBeLessThanOrEqual(1100);
    expect((await callRow(ds, requestId)).status).toBe("accepted");
    expect(await adapter.verify(ctx)).toEqual(["processor: erasure not confirmed by the processor (call accepted)"]);

    await ageCall(ds, requestId);
    const err = await failure(adapter.erase(ctx, recorder().record));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.code).toBe("processor_deadline_exceeded");
    expect(p.calls).toHaveLength(1);
  });

  it("polls the status URL of a 202 with signed GETs until it says done", async () => {
    let state = "pending";
    const p = await processor((c) =>
      c.method === "POST" ? { status: 202, json: { statusUrl: "/gdpr/status/cust-42" } } : { status: 200, json: { status: state } },
    );
    const adapter = adapterFor(`${p.base}/gdpr`, { statusUrl: true, pollIntervalMs: 700 });
    const requestId = await insertRequest(ds);
    const ctx = crmCtx(requestId, IDENTITIES);
    const rec = recorder();

    expect(await adapter.erase(ctx, rec.record)).toEqual({ state: "pending", steps: [], checkAgainInMs: 700 });
    const accepted = await callRow(ds, requestId);
    expect(accepted.status).toBe("accepted");
    // The status URL is sealed: it may hold the processor's id of the subject.
    expect(Buffer.isBuffer(accepted.status_url)).toBe(true);
    expect(accepted.whole).not.toContain("cust-42");

    expect(await adapter.erase(ctx, rec.record)).toEqual({ state: "pending", steps: [], checkAgainInMs: 700 });
    state = "done";
    expect(await adapter.erase(ctx, rec.record)).toEqual({ state: "done", steps: NOTIFIED });
    expect(rec.calls).toEqual([NOTIFIED]);

    expect(p.calls.map((c) => `${c.method} ${c.path}`)).toEqual(["POST /gdpr", "GET /gdpr/status/cust-42", "GET /gdpr/status/cust-42"]);
    expect(p.calls.every((c) => c.signatureValid)).toBe(true);
    expect(p.calls[1]!.rawBody).toBe("");
    const done = await callRow(ds, requestId);
    expect(done.status).toBe("done");
    expect(done.status_url).toBeNull();
  });

  it("fails permanently when the status URL reports failure, recording a short reason code only", async () => {
    const p = await processor((c) =>
      c.method === "POST" ? { status: 202, json: { statusUrl: `${p.base}/s/1` } } : { status: 200, json: { status: "failed", reason: "legal_hold" } },
    );
    const adapter = adapterFor(`${p.base}/gdpr`, { statusUrl: true });
    const requestId = await insertRequest(ds);
    const ctx = crmCtx(requestId, IDENTITIES);
    expect((await adapter.erase(ctx, recorder().record)).state).toBe("pending");
    const err = await failure(adapter.erase(ctx, recorder().record));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.code).toBe("processor_failed");
    expect(err.message).toBe('store "crm": the processor reported that the erasure failed (reason: legal_hold)');
    const row = await callRow(ds, requestId);
    expect(row.status).toBe("failed");
    expect(row.failure_reason).toBe("legal_hold");
  });

  it("ignores a status URL on another origin, and any status URL when the store does not allow polling", async () => {
    const other = await processor(() => ({ status: 200, json: { status: "done" } }));
    for (const [crm, statusUrl] of [
      [{ statusUrl: true }, `${other.base}/status`],
      [{ statusUrl: false }, "/gdpr/status/1"],
    ] as const) {
      const p = await processor((c) => (c.method === "POST" ? { status: 202, json: { statusUrl } } : { status: 200, json: { status: "done" } }));
      const adapter = adapterFor(`${p.base}/gdpr`, crm);
      const requestId = await insertRequest(ds);
      const ctx = crmCtx(requestId, IDENTITIES);
      expect((await adapter.erase(ctx, recorder().record)).state).toBe("pending");
      expect((await callRow(ds, requestId)).status_url).toBeNull();
      expect((await adapter.erase(ctx, recorder().record)).state).toBe("pending");
      expect(p.calls.map((c) => c.method)).toEqual(["POST"]);
    }
    expect(other.calls).toHaveLength(0);
  });
});

describe("webhook store: data map at run time", () => {
  it("refuses a store whose URL or secret lethe check would refuse, before calling anyone", async () => {
    const p = await processor();
    const requestId = await insertRequest(ds);
    const http = webhookAdapter("crm", webhookDeps(webhookMap("http://crm.example/gdpr"), config, ds));
    const err = await failure(http.erase(crmCtx(requestId, IDENTITIES), recorder().record));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.code).toBe("data_map_invalid");
    expect(err.message).toContain("must use https");
    const map = webhookMap(`${p.base}/gdpr`);
    const crm = map.stores.crm!;
    if (crm.kind === "webhook") crm.secret = "short";
    const weak = webhookAdapter("crm", webhookDeps(map, config, ds));
    expect((await failure(weak.erase(crmCtx(requestId, IDENTITIES), recorder().record))).code).toBe("data_map_invalid");
    expect(p.calls).toHaveLength(0);
  });
});
