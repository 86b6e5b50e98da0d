import { randomBytes } from "node:crypto";
import { seedMarkedCustomer, seedShop } from "../../demo/seed";
import { requestJobId } from "../../src/queues/jobs/erase-request";
import type { WorkerHandle } from "../../workers/worker";
import { SHOP_MAP } from "../helpers/data-maps";
import { createHarness, type LetheHarness } from "../helpers/harness";
import { diffChecksums, rowChecksums } from "../helpers/row-checksums";
import { shopErasureDiff, shopSteps, shopSubject, sortSteps } from "../helpers/shop";
import { waitFor } from "../helpers/wait";

/**
 * Redis is transport, Postgres the truth: a request whose job vanished from Redis still
 * completes. Other test files share this Redis, so "losing everything" means deleting every key
 * of this test's own prefix (SCAN + DEL), never FLUSHALL.
 */
describe("losing Redis", () => {
  let h: LetheHarness;
  const tag = randomBytes(4).toString("hex");
  const markers = { before: `loss-before-${tag}`, during: `loss-during-${tag}` };
  const ids = { before: 0, during: 0 };
  let worker: WorkerHandle | undefined;

  beforeAll(async () => {
    h = await createHarness({
      map: SHOP_MAP,
      env: { LETHE_RECONCILE_EVERY_MS: "500" },
      prepare: async (url) => {
        await seedShop(url, { customers: 50 });
        ids.before = await seedMarkedCustomer(url, markers.before);
        ids.during = await seedMarkedCustomer(url, markers.during);
      },
    });
  });

  afterAll(async () => {
    await h?.cleanup();
  });

  it("before any worker runs: the reconciler re-enqueues the request from Postgres and it completes", async () => {
    const subject = await shopSubject(h.appDb.url, ids.before);
    const before = await rowChecksums(h.appDb.url);
    const { request } = await h.submit({ id: String(subject.id) });
    expect(request.status).toBe("queued");
    expect((await h.erasureQueue.getJob(requestJobId(request.id)))?.data).toEqual({ requestId: request.id });

    expect(await h.deletePrefixKeys()).toBeGreaterThan(0);
    expect(await h.prefixKeys()).toEqual([]);
    expect(await h.erasureQueue.getJob(requestJobId(request.id))).toBeUndefined();

    worker ??= await h.startWorker();
    const view = await h.waitForStatus(request.id, ["completed", "failed"], 30_000);
    expect(view.status).toBe("completed");
    expect(sortSteps(view.steps)).toEqual(shopSteps(subject, h.dataMap));
    expect(diffChecksums(before, await rowChecksums(h.appDb.url))).toEqual(shopErasureDiff(subject));
  });

  it("while a worker runs: the schedule comes back, the request is re-enqueued and completes", async () => {
    const subject = await shopSubject(h.appDb.url, ids.during);
    const before = await rowChecksums(h.appDb.url);
    worker ??= await h.startWorker();
    const schedulers = async () => (await h.maintenanceQueue.getJobSchedulers()).map((s) => s.key).sort();
    await waitFor(async () => ((await schedulers()).includes("reconcile") ? true : undefined), "the reconcile scheduler");

    // A paused queue holds the job, so the loss below happens before any worker takes it.
    await h.erasureQueue.pause();
    const { request } = await h.submit({ id: String(subject.id) });
    expect(await h.erasureQueue.getJobState(requestJobId(request.id))).toBe("waiting");

    // Everything goes: the job, the pause, the schedulers. (The running worker may re-upsert a
    // scheduler at any moment, so what was deleted is asserted from the key list, not afterwards.)
    const prefix = h.config.queuePrefix;
    const keys = await h.prefixKeys();
    expect(keys).toEqual(
      expect.arrayContaining([`${prefix}:erasure:${requestJobId(request.id)}`, `${prefix}:erasure:meta`, `${prefix}:maintenance:repeat:reconcile`]),
    );
    expect(await h.deletePrefixKeys()).toBeGreaterThan(0);
    expect(await h.erasureQueue.isPaused()).toBe(false);

    await waitFor(async () => ((await schedulers()).includes("reconcile") ? true : undefined), "the reconcile scheduler to be upserted again", 10_000);
    const view = await h.waitForStatus(request.id, ["completed", "failed"], 30_000);
    expect(view.status).toBe("completed");
    expect(sortSteps(view.steps)).toEqual(shopSteps(subject, h.dataMap));
    expect(diffChecksums(before, await rowChecksums(h.appDb.url))).toEqual(shopErasureDiff(subject));
  });
});
