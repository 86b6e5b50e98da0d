import { renameSync } from "node:fs";
import { requestJobId } from "../../src/queues/jobs/erase-request";
import { storeJobId } from "../../src/queues/jobs/erase-store";
import { finalizeJobId } from "../../src/queues/jobs/finalize-erasure";
import type { RequestView } from "../../src/requests/view";
import { waitFor } from "../helpers/wait";
import { createMultiStore, stepRows, storeRows, type MultiStore } from "./fixture";

/**
 * Issue 11, fewer jobs: stores that never wait (Postgres, Redis, files) are erased by the
 * request's entry job itself, and so is a processor (webhook store) that answers at once; only a
 * processor that has to wait gets a job of its own, so a request whose stores all finish at once
 * is a single job with no flow. Resume stays exact: the inline stores' states
 * are recorded even when one of them fails, and the retry does not redo what is done.
 */
jest.setTimeout(90_000);

const STORES = ["shop", "cache", "uploads", "crm", "mailer"];

async function finished(w: MultiStore, id: string, timeoutMs = 30_000): Promise<RequestView> {
  return waitFor(
    async () => {
      const { json } = await w.http<RequestView>("GET", `/v1/requests/${id}`);
      return json.status === "completed" || json.status === "failed" ? json : undefined;
    },
    `request ${id} to finish`,
    timeoutMs,
    50,
  );
}

async function submit(w: MultiStore, subject: Record<string, string>): Promise<string> {
  const res = await w.http<{ id: string }>("POST", "/v1/requests", { type: "erasure", subject });
  expect(res.status).toBe(202);
  return res.json.id;
}

/** Which of the request's possible jobs exist in the erasure queue. */
async function jobsOf(w: MultiStore, id: string): Promise<string[]> {
  const names: string[] = [];
  if (await w.h.erasureQueue.getJob(requestJobId(id))) names.push("erase-request");
  for (const s of STORES) if (await w.h.erasureQueue.getJob(storeJobId(id, s))) names.push(`erase-store ${s}`);
  if (await w.h.erasureQueue.getJob(finalizeJobId(id))) names.push("finalize-erasure");
  return names;
}

describe("erasure job shape", () => {
  describe("without processors", () => {
    let w: MultiStore;
    beforeAll(async () => {
      w = await createMultiStore({
        env: { LETHE_BACKOFF_MS: "300" },
        editMap: (raw) => {
          const stores = raw.stores as Record<string, unknown>;
          delete stores.crm;
          delete stores.mailer;
        },
      });
      await w.startWorker();
    });
    afterAll(async () => {
      await w?.cleanup();
    });

    it("erases Postgres, Redis and files in one job: no store jobs, no finalizing parent", async () => {
      const a = await w.addSubject("onejob");
      const id = await submit(w, { email: a.email });
      const view = await finished(w, id);
      expect(view).toMatchObject({ status: "completed", error: null });
      expect(await jobsOf(w, id)).toEqual(["erase-request"]);
      expect(await storeRows(w.h, id)).toEqual({ shop: "done", cache: "done", uploads: "done" });
      const rows = Object.fromEntries((await stepRows(w.h, id)).filter((s) => s.store !== "shop").map((s) => [`${s.store} ${s.table}`, s.rows]));
      expect(rows).toEqual({
        [`cache ${w.prefix}:session:{id}`]: 1,
        [`cache ${w.prefix}:cart:{id}:*`]: 2,
        [`cache ${w.prefix}:user:{email}`]: 1,
        [`cache hash ${w.prefix}:profiles field {id}`]: 1,
        "uploads avatars/{id}.*": 2,
        "uploads uploads/{id}/**": 2,
      });
      const state = await w.state();
      for (const k of a.redis) expect(state.redis.has(k)).toBe(false);
      for (const f of a.files) expect(state.files.has(f)).toBe(false);
    });

    it("a failing inline store fails the attempt; the retry resumes without redoing the stores already done", async () => {
      const a = await w.addSubject("resume");
      // The files root is missing for a while: the files store's erasure fails (retryable).
      const away = `${w.root}-away`;
      renameSync(w.root, away);
      let restored = false;
      try {
        const id = await submit(w, { email: a.email });
        await waitFor(
          async () => {
            const job = await w.h.erasureQueue.getJob(requestJobId(id));
            const stores = await storeRows(w.h, id);
            return job && job.attemptsMade >= 1 && stores.cache === "done" ? true : undefined;
          },
          "a failed attempt after the cache was erased",
          30_000,
          20,
        );
        expect((await storeRows(w.h, id)).uploads).toBeUndefined();
        const before = await stepRows(w.h, id);
        renameSync(away, w.root);
        restored = true;
        const view = await finished(w, id);
        expect(view).toMatchObject({ status: "completed", error: null });
        const after = await stepRows(w.h, id);
        // The shop's and the cache's steps were recorded once, by the failed attempt, and kept (same ids, same counts).
        const doneBefore = before.filter((s) => s.store === "shop" || s.store === "cache");
        expect(after.filter((s) => s.store === "shop" || s.store === "cache")).toEqual(doneBefore);
        expect(doneBefore.filter((s) => s.store === "cache").reduce((n, s) => n + s.rows, 0)).toBe(5);
        expect(after.filter((s) => s.store === "uploads").reduce((n, s) => n + s.rows, 0)).toBe(4);
        const state = await w.state();
        for (const f of a.files) expect(state.files.has(f)).toBe(false);
      } finally {
        if (!restored) renameSync(away, w.root);
      }
    });
  });

  describe("with processors", () => {
    let w: MultiStore;
    beforeAll(async () => {
      // The crm answers 200 at once; the mailer accepts for later (202) and calls back.
      w = await createMultiStore();
      await w.startWorker();
    });
    afterAll(async () => {
      await w?.cleanup();
    });

    it("a processor that answers at once needs no job; one that accepts for later continues in a job of its own", async () => {
      const a = await w.addSubject("flow");
      const id = await submit(w, { email: a.email });
      expect(await finished(w, id)).toMatchObject({ status: "completed", error: null });
      expect(await jobsOf(w, id)).toEqual(["erase-request", "erase-store mailer", "finalize-erasure"]);
      expect(await storeRows(w.h, id)).toEqual({ shop: "done", cache: "done", uploads: "done", crm: "done", mailer: "done" });
      expect(w.crm.records.has(a.email)).toBe(false);
      expect(w.mailer.records.has(a.email)).toBe(false);
    });

    it("processors that answer at once: the whole request is one job", async () => {
      w.mailer.answer = () => ({ status: 200 });
      const a = await w.addSubject("nojob");
      const id = await submit(w, { email: a.email });
      expect(await finished(w, id)).toMatchObject({ status: "completed", error: null });
      expect(await jobsOf(w, id)).toEqual(["erase-request"]);
      expect(await storeRows(w.h, id)).toEqual({ shop: "done", cache: "done", uploads: "done", crm: "done", mailer: "done" });
      expect(w.mailer.records.has(a.email)).toBe(false);
    });
  });
});
