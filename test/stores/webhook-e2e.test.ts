import type { FastifyInstance } from "fastify";
import { seedMarkedCustomer, seedShop } from "../../demo/seed";
import { buildServer } from "../../src/http/server";
import { signLethePayload } from "../../src/webhook/verify-signature";
import { SHOP_MAP } from "../helpers/data-maps";
import { createHarness, type LetheHarness } from "../helpers/harness";
import { waitFor } from "../helpers/wait";
import type { FakeProcessor, ReceivedCall } from "../helpers/fake-processor";
import { SECRET, startProcessor } from "./webhook-fixtures";

/** A whole erasure through the worker with the demo shop plus a processor that accepts (202) and calls back. */
describe("webhook store end to end", () => {
  let h: LetheHarness;
  let p: FakeProcessor;
  let api: FastifyInstance;
  const ids: number[] = [];

  beforeAll(async () => {
    p = await startProcessor(() => ({ status: 202 }));
    h = await createHarness({
      map: SHOP_MAP,
      env: { LETHE_PUBLIC_URL: "https://lethe.example.test" },
      prepare: async (url) => {
        await seedShop(url, { customers: 20 });
        ids.push(await seedMarkedCustomer(url, "e2e-webhook-a"), await seedMarkedCustomer(url, "e2e-webhook-b"));
      },
      editMap: (raw) => {
        (raw.stores as Record<string, unknown>).crm = { kind: "webhook", url: `${p.base}/gdpr`, secret: SECRET, identities: ["email"], pollIntervalMs: 60_000 };
      },
    });
    api = await buildServer({
      ds: h.ds,
      config: h.config,
      dataMap: h.dataMap,
      queues: { erasure: h.erasureQueue, maintenance: h.maintenanceQueue },
      redis: h.redis,
      logger: h.logger,
    });
    await h.startWorker();
  });

  afterAll(async () => {
    await api?.close();
    await h?.cleanup();
    await p?.close();
  });

  async function callFor(requestId: string): Promise<ReceivedCall> {
    return waitFor(async () => p.calls.find((c) => (JSON.parse(c.rawBody) as { requestId: string }).requestId === requestId), "the processor call");
  }

  async function callBack(call: ReceivedCall, body: Record<string, unknown>): Promise<number> {
    const raw = JSON.stringify(body);
    const ts = Math.floor(Date.now() / 1000);
    const res = await api.inject({
      method: "POST",
      url: new URL((JSON.parse(call.rawBody) as { callbackUrl: string }).callbackUrl).pathname,
      headers: { "content-type": "application/json", "lethe-timestamp": String(ts), "lethe-signature": signLethePayload(SECRET, raw, ts) },
      payload: raw,
    });
    return res.statusCode;
  }

  it("completes the request once the processor calls back done, with a notified step in the receipt", async () => {
    const { request } = await h.submit({ id: String(ids[0]) });
    const call = await callFor(request.id);
    expect(call.signatureValid).toBe(true);
    expect(Object.keys((JSON.parse(call.rawBody) as { subject: object }).subject)).toEqual(["email"]);
    // The job waits (delayed for a minute); the callback promotes it.
    await waitFor(async () => {
      const job = await h.erasureQueue.getJob(`erasure-${request.id}-crm`);
      return job && (await job.isDelayed()) ? true : undefined;
    }, "the store job to wait");
    expect((await h.waitForStatus(request.id, ["running"], 5000)).status).toBe("running");

    expect(await callBack(call, { status: "done" })).toBe(204);
    const view = await h.waitForStatus(request.id, ["completed", "failed"], 20_000);
    expect(view.status).toBe("completed");
    expect(view.steps).toEqual(expect.arrayContaining([expect.objectContaining({ store: "crm", table: "processor", action: "notified", rows: 1 })]));
  });

  it("fails the request when the processor reports failure, naming the store", async () => {
    const { request } = await h.submit({ id: String(ids[1]) });
    const call = await callFor(request.id);
    expect(await callBack(call, { status: "failed", reason: "legal_hold" })).toBe(204);
    const view = await h.waitForStatus(request.id, ["completed", "failed"], 20_000);
    expect(view.status).toBe("failed");
    expect(view.error).toEqual(expect.objectContaining({ code: "processor_failed" }));
    expect(view.error!.message).toContain('store "crm"');
  });
});
