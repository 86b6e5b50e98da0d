import { randomUUID } from "node:crypto";
import { seedMarkedCustomer, seedShop } from "../../demo/seed";
import { LetheApiError, LetheClient, LetheTimeoutError, verifyReceipt, type SignedReceipt } from "../../src/index";
import { startApi, type ApiHandle } from "../../workers/api";
import { TEST_KEYS } from "../helpers/config";
import { SHOP_MAP } from "../helpers/data-maps";
import { createHarness, type LetheHarness } from "../helpers/harness";

const KEYS = `app:${TEST_KEYS.writer}:requests.write|requests.read;ops:${TEST_KEYS.admin}:admin`;

describe("LetheClient against a running API and worker", () => {
  let h: LetheHarness;
  let api: ApiHandle;
  let app: LetheClient;
  let ops: LetheClient;
  const ids = { erase: 0, held: 0 };

  beforeAll(async () => {
    h = await createHarness({
      map: SHOP_MAP,
      env: { PORT: "0", LETHE_API_KEYS: KEYS },
      prepare: async (url) => {
        await seedShop(url, { customers: 20 });
        ids.erase = await seedMarkedCustomer(url, `client-erase-${randomUUID().slice(0, 8)}`);
        ids.held = await seedMarkedCustomer(url, `client-held-${randomUUID().slice(0, 8)}`);
      },
    });
    await h.startWorker({ queues: ["erasure", "maintenance", "retention"] });
    api = await startApi(h.config, { dataMap: h.dataMap, logger: h.logger, handleSignals: false });
    app = new LetheClient({ baseUrl: api.url, apiKey: TEST_KEYS.writer });
    ops = new LetheClient({ baseUrl: api.url, apiKey: TEST_KEYS.admin });
  });

  afterAll(async () => {
    await api?.close();
    await h?.cleanup();
  });

  it("submits with an idempotency key, waits until done, and verifies the signed receipt", async () => {
    const key = `erase-${ids.erase}`;
    const first = await app.submit({ type: "erasure", subject: { id: String(ids.erase) } }, { idempotencyKey: key });
    expect(first.replayed).toBe(false);
    const again = await app.erase({ id: String(ids.erase) }, { idempotencyKey: key });
    expect(again).toEqual({ ...first, replayed: true });

    const done = await app.waitUntilDone(first.id, { timeoutMs: 30_000, intervalMs: 100 });
    expect(done.status).toBe("completed");
    expect(done.steps.length).toBeGreaterThan(0);

    const signed = await app.getReceipt(first.id);
    const key1 = await app.getReceiptPublicKey();
    expect(signed.signature.keyId).toBe(key1.keyId);
    expect(verifyReceipt(signed, key1)).toBe(true);
    expect(verifyReceipt(signed, key1.publicKeyPem)).toBe(true);
    // The signature is over the canonical (key-sorted) JSON: the receipt's key order does not matter.
    const reordered = JSON.parse(
      JSON.stringify({ signature: signed.signature, receipt: Object.fromEntries(Object.entries(signed.receipt).reverse()) }),
    ) as SignedReceipt;
    expect(verifyReceipt(reordered, key1)).toBe(true);
    const tampered: SignedReceipt = { ...signed, receipt: { ...signed.receipt, verified: !signed.receipt.verified } };
    expect(verifyReceipt(tampered, key1)).toBe(false);
    expect(verifyReceipt({ ...signed, signature: { ...signed.signature, keyId: "0000000000000000" } }, key1)).toBe(false);
  });

  it("rejects with the API's problem: LetheApiError carries status, type and field errors", async () => {
    const missing = await app.getRequest(randomUUID()).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(LetheApiError);
    expect((missing as LetheApiError).status).toBe(404);
    expect((missing as LetheApiError).type).toBe("urn:lethe:problem:not-found");

    const bad = await app.submit({ type: "erasure", subject: { nope: "x" } }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(LetheApiError);
    expect((bad as LetheApiError).status).toBe(400);
    expect((bad as LetheApiError).problem.errors?.[0]?.field).toMatch(/^subject/);

    const unauthorized = new LetheClient({ baseUrl: api.url, apiKey: "not-a-key-of-this-lethe" });
    await expect(unauthorized.getReceiptPublicKey()).rejects.toMatchObject({ status: 401 });
  });

  it("places, reads and releases a legal hold; a held request resumes and a wait on it times out first", async () => {
    const subject = { id: String(ids.held) };
    const hold = await ops.placeHold({ subject, ground: "litigation hold, case 2024-17", until: new Date(Date.now() + 3600_000) });
    expect(hold.active).toBe(true);
    expect(await ops.getHold(hold.id)).toEqual(hold);

    const { id } = await app.erase(subject);
    const held = await app.waitUntilDone(id, { timeoutMs: 1000, intervalMs: 50 }).catch((e: unknown) => e);
    expect(held).toBeInstanceOf(LetheTimeoutError);
    expect((held as LetheTimeoutError).lastStatus).toBe("held");

    const released = await ops.releaseHold(hold.id);
    expect(released).toMatchObject({ id: hold.id, active: false, resumedRequests: 1 });
    expect((await app.waitUntilDone(id, { timeoutMs: 30_000, intervalMs: 100 })).status).toBe("completed");
  });

  it("starts a retention dry run and waits for its counts", async () => {
    const run = await app.startRetentionRun("old-support-tickets", { dryRun: true });
    expect(run).toMatchObject({ policy: "old-support-tickets", dryRun: true });
    const done = await app.waitForRetentionRun(run.id, { timeoutMs: 30_000, intervalMs: 100 });
    expect(done.status).toBe("completed");
    expect(done.rows.matched).toBeGreaterThanOrEqual(0);
  });

  it("reads health and readiness", async () => {
    expect(await app.health()).toEqual({ status: "ok" });
    expect((await app.ready()).status).toBe("ok");
  });

  it("refuses a download link that does not point at its API", async () => {
    await expect(app.downloadExport("http://elsewhere.invalid/v1/exports/x/download?token=y")).rejects.toThrow(/does not start with/);
  });
});
