import { storeJobId } from "../../src/queues/jobs/erase-store";
import type { RequestView } from "../../src/requests/view";
import type { WorkerHandle } from "../../workers/worker";
import { reconcilerPass } from "../helpers/job-events";
import { rowChecksums } from "../helpers/row-checksums";
import { TEST_KEYS } from "../helpers/config";
import { waitFor } from "../helpers/wait";
import { createMultiStore, withoutSubjects, type MultiStore } from "./fixture";

/**
 * Issue #3, legal holds: a subject under hold is not erased in any store; the request waits as
 * `held` with the hold's ground, and runs by itself when the hold is released (API) or expires
 * (the reconciler).
 */
jest.setTimeout(60_000);

interface HoldView {
  id: string;
  ground: string;
  until: string | null;
  active: boolean;
  releasedAt: string | null;
}

describe("legal holds across every store", () => {
  let w: MultiStore;
  let worker: WorkerHandle;

  beforeAll(async () => {
    w = await createMultiStore();
    worker = await w.startWorker();
  });

  afterAll(async () => {
    await w?.cleanup();
  });

  async function submit(subject: Record<string, string>): Promise<string> {
    const res = await w.http<{ id: string }>("POST", "/v1/requests", { type: "erasure", subject });
    expect(res.status).toBe(202);
    return res.json.id;
  }

  async function viewOf(id: string): Promise<RequestView> {
    return (await w.http<RequestView>("GET", `/v1/requests/${id}`)).json;
  }

  async function until(id: string, statuses: string[], timeoutMs = 20_000): Promise<RequestView> {
    return waitFor(
      async () => {
        const v = await viewOf(id);
        return statuses.includes(v.status) ? v : undefined;
      },
      `request ${id} to be ${statuses.join("/")}`,
      timeoutMs,
      50,
    );
  }

  it("holds the request with the hold's ground and erases nothing; releasing the hold runs it to completion", async () => {
    const a = await w.addSubject("held");
    const ground = "Litigation hold: case 2025-0417 (claims of the subject)";
    const placed = await w.http<HoldView>("POST", "/v1/holds", { subject: { email: a.email }, ground }, TEST_KEYS.holds);
    expect(placed.status).toBe(201);
    expect(placed.json).toMatchObject({ ground, until: null, active: true, releasedAt: null });
    expect(JSON.stringify(placed.json)).not.toContain(a.email);

    const rowsBefore = await rowChecksums(w.h.appDb.url);
    const before = await w.state();
    const id = await submit({ id: String(a.id) });
    const held = await until(id, ["held", "completed", "failed"]);
    expect(held.status).toBe("held");
    expect(held.hold).toEqual({ id: placed.json.id, ground, until: null });
    expect(held.steps).toEqual([]);

    // Nothing anywhere was erased, and no store job exists.
    expect(await rowChecksums(w.h.appDb.url)).toEqual(rowsBefore);
    expect(await w.state()).toEqual(before);
    expect(w.crm.callsFor(id)).toEqual([]);
    expect(w.mailer.callsFor(id)).toEqual([]);
    for (const store of ["shop", "cache", "uploads", "crm", "mailer"]) expect(await w.h.erasureQueue.getJob(storeJobId(id, store))).toBeUndefined();
    // Still held after two whole passes of the reconciler (which resumes requests whose hold ended).
    await reconcilerPass(worker);
    await reconcilerPass(worker);
    expect((await viewOf(id)).status).toBe("held");
    expect(await w.state()).toEqual(before);

    const released = await w.http<HoldView & { resumedRequests: number }>("DELETE", `/v1/holds/${placed.json.id}`, undefined, TEST_KEYS.holds);
    expect(released.status).toBe(200);
    expect(released.json).toMatchObject({ id: placed.json.id, active: false, resumedRequests: 1, releasedAt: expect.any(String) });
    const done = await until(id, ["completed", "failed"]);
    expect(done.status).toBe("completed");
    expect(await w.state()).toEqual(withoutSubjects(before, [a]));
    expect(w.crm.erasuresFor(id)).toHaveLength(1);
    expect(w.mailer.erasuresFor(id)).toHaveLength(1);
  });

  it("ignores a hold that has already expired, and resumes a request when its hold expires (reconciler)", async () => {
    const past = await w.addSubject("expired");
    const soon = await w.addSubject("expiring");
    const before = await w.state();

    const expired = await w.http<HoldView>(
      "POST",
      "/v1/holds",
      {
        subject: { email: past.email },
        ground: "Tax audit 2019, closed",
        until: new Date(Date.now() - 60_000).toISOString(),
      },
      TEST_KEYS.holds,
    );
    expect(expired.status).toBe(201);
    expect(expired.json.active).toBe(false);
    const pastId = await submit({ id: String(past.id) });
    const pastView = await until(pastId, ["completed", "failed", "held"]);
    expect(pastView.status).toBe("completed");
    expect(pastView.hold).toBeUndefined();

    const untilAt = new Date(Date.now() + 4000);
    const ground = "Pending court order, expires shortly";
    const expiring = await w.http<HoldView>("POST", "/v1/holds", { subject: { id: String(soon.id) }, ground, until: untilAt.toISOString() }, TEST_KEYS.holds);
    expect(expiring.json.active).toBe(true);
    const soonId = await submit({ email: soon.email });
    const held = await until(soonId, ["held", "completed", "failed"]);
    expect(held.status).toBe("held");
    expect(held.hold).toEqual({ id: expiring.json.id, ground, until: untilAt.toISOString() });
    expect(w.crm.callsFor(soonId)).toEqual([]);

    // Nobody releases it: once `until` passes, the reconciler (every second here) resumes it.
    const done = await until(soonId, ["completed", "failed"], 30_000);
    expect(done.status).toBe("completed");
    expect(Date.parse(done.completedAt!)).toBeGreaterThanOrEqual(untilAt.getTime());
    expect((await w.http<HoldView>("GET", `/v1/holds/${expiring.json.id}`)).json).toMatchObject({ active: false, releasedAt: null });
    expect(await w.state()).toEqual(withoutSubjects(before, [past, soon]));
  });
});
