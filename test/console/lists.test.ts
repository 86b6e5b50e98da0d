import { requestJobId } from "../../src/queues/jobs/erase-request";
import { TEST_KEYS } from "../helpers/config";
import { bearer, expectProblem, useMigratedApi } from "../http/harness";
import { cardCounts, CONSOLE_ENV, CONSOLE_KEYS, expectNoMarkers, login, MARKERS, shape, submit } from "./support";

const api = useMigratedApi({ env: CONSOLE_ENV });

interface Item {
  id: string;
  status: string;
  band: string;
  daysLeft: number | null;
  dueAt: string;
  notFound: boolean;
  extension: unknown;
  stores: { done: number; total: number };
}
interface ListBody {
  requests: Item[];
  nextCursor: string | null;
  total: number;
  summary: { open: number; byBand: Record<string, number>; byStatus: Record<string, number> };
}

const ids: Record<string, string> = {};

beforeAll(async () => {
  ids.overdueFailed = await submit(api, MARKERS[0]!);
  ids.dueSoon = await submit(api, MARKERS[1]!);
  ids.held = await submit(api, MARKERS[2]!);
  ids.notFound = await submit(api, MARKERS[3]!);
  ids.onTrack = await submit(api, "someone.else@example.org");
  ids.preview = await submit(api, "preview.person@example.org", true);
  await shape(api, ids.overdueFailed!, { receivedDaysAgo: 40, dueInDays: -9, status: "failed", errorCode: "store_unavailable" });
  await shape(api, ids.dueSoon!, { receivedDaysAgo: 26, dueInDays: 3.5 });
  await shape(api, ids.held!, { receivedDaysAgo: 10, dueInDays: 20, status: "held" });
  await shape(api, ids.notFound!, { receivedDaysAgo: 5, dueInDays: 25, status: "completed", result: { steps: [], subjectFound: false } });
  await shape(api, ids.onTrack!, { receivedDaysAgo: 1, dueInDays: 29.5 });
  await shape(api, ids.preview!, { receivedDaysAgo: 2, dueInDays: 28 });
});

function list(query: string, key: string = CONSOLE_KEYS.viewer) {
  return api.h.app.inject({ method: "GET", url: `/v1/requests${query}`, headers: bearer(key) });
}

describe("GET /v1/requests", () => {
  it("lists real requests by days left with bands, statuses and per-store progress; previews apart", async () => {
    const res = await list("?state=all");
    expect(res.statusCode).toBe(200);
    expectNoMarkers(res);
    const body = res.json<ListBody>();
    expect(body.requests.map((r) => r.id)).toEqual([ids.overdueFailed, ids.dueSoon, ids.held, ids.notFound, ids.onTrack]);
    expect(body.total).toBe(5);
    const by = Object.fromEntries(body.requests.map((r) => [r.id, r]));
    expect(by[ids.overdueFailed!]).toMatchObject({ status: "failed", band: "overdue", daysLeft: -9 });
    expect(by[ids.dueSoon!]).toMatchObject({ band: "due_soon", daysLeft: 4 });
    expect(by[ids.held!]).toMatchObject({ status: "held", band: "on_track", daysLeft: 20 });
    expect(by[ids.notFound!]).toMatchObject({ status: "completed", band: "closed", daysLeft: null, notFound: true });
    expect(by[ids.onTrack!]!.stores).toEqual({ done: 0, total: 1, failing: [] });
    // Failed requests are open (the person has no answer) and count as overdue.
    expect(body.summary).toEqual({
      open: 4,
      byBand: { overdue: 1, due_soon: 1, on_track: 2 },
      byStatus: { failed: 1, held: 1, queued: 2 },
      byType: { erasure: 4 },
    });

    const previews = (await list("?dryRun=true")).json<ListBody>();
    expect(previews.requests.map((r) => r.id)).toEqual([ids.preview]);
    expect(previews.summary.open).toBe(1);
  });

  it("filters by type, status (extended, not found), band and state", async () => {
    expect((await list("?band=overdue")).json<ListBody>().requests.map((r) => r.id)).toEqual([ids.overdueFailed]);
    expect((await list("?status=held")).json<ListBody>().requests.map((r) => r.id)).toEqual([ids.held]);
    expect((await list("?status=not_found")).json<ListBody>().requests.map((r) => r.id)).toEqual([ids.notFound]);
    expect((await list("?state=open")).json<ListBody>().total).toBe(4);
    expect((await list("?state=closed")).json<ListBody>().total).toBe(1);
    expect((await list("?type=export")).json<ListBody>().total).toBe(0);
  });

  it("pages with an opaque cursor: the pages together are the whole list, in order", async () => {
    const all = (await list("?state=all")).json<ListBody>().requests.map((r) => r.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: ListBody = (await list(`?state=all&limit=2${cursor ? `&cursor=${cursor}` : ""}`)).json<ListBody>();
      expect(page.requests.length).toBeLessThanOrEqual(2);
      seen.push(...page.requests.map((r) => r.id));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor);
    expect(seen).toEqual(all);
    expect(pages).toBe(3);
  });

  it("answers bad filters and cursors with 400 problem+json", async () => {
    expect(expectProblem(await list("?band=soonish"), 400).errors).toEqual([expect.objectContaining({ field: "band" })]);
    expect(expectProblem(await list("?cursor=not-a-cursor"), 400).errors).toEqual([expect.objectContaining({ field: "cursor" })]);
    expect(expectProblem(await list("?limit=5000"), 400).errors).toEqual([expect.objectContaining({ field: "limit" })]);
    expect(expectProblem(await list("?sort=x"), 400).errors).toEqual([expect.objectContaining({ field: "sort" })]);
  });
});

describe("contract: every number on a console page equals what the list endpoints return", () => {
  it("requests page: cards, rows, days left, bands", async () => {
    const cookie = await login(api, CONSOLE_KEYS.viewer);
    for (const query of ["state=open", "state=all", "band=overdue", "dryRun=true"]) {
      const apiBody = (await list(`?${query}`)).json<ListBody>();
      const page = await api.h.app.inject({ method: "GET", url: `/admin/requests?${query}`, headers: { cookie } });
      expect(page.statusCode).toBe(200);
      expectNoMarkers(page);
      const cards = cardCounts(page.body);
      expect(cards).toEqual({
        open: apiBody.summary.open,
        overdue: apiBody.summary.byBand.overdue,
        due_soon: apiBody.summary.byBand.due_soon,
        on_track: apiBody.summary.byBand.on_track,
        held: apiBody.summary.byStatus.held ?? 0,
        failed: apiBody.summary.byStatus.failed ?? 0,
      });
      const rowIds = [...page.body.matchAll(/<tr data-request="([^"]+)">/g)].map((m) => m[1]);
      expect(rowIds).toEqual(apiBody.requests.map((r) => r.id));
      expect(page.body).toContain(apiBody.requests.length > 0 ? `${apiBody.total} request` : "No request matches");
      for (const r of apiBody.requests) {
        const row = page.body.slice(page.body.indexOf(`<tr data-request="${r.id}">`)).split("</tr>")[0]!;
        expect(row).toContain(r.daysLeft === null ? "answered" : `<span class="band-${r.band}">${r.daysLeft}</span>`);
        expect(row).toContain(`${r.stores.done} of ${r.stores.total} done`);
        expect(row).toContain(r.dueAt.slice(0, 10));
      }
    }
  });
});

describe("GET /v1/holds and /v1/retention/runs", () => {
  it("lists holds newest first with waiting requests, and retention runs (none yet)", async () => {
    const placed = await api.h.app.inject({
      method: "POST",
      url: "/v1/holds",
      headers: bearer(TEST_KEYS.admin),
      payload: { subject: { email: MARKERS[2]! }, ground: "litigation hold, case 12-345" },
    });
    expect(placed.statusCode).toBe(201);
    const holdId = placed.json<{ id: string }>().id;
    await api.ds.query(`UPDATE lethe.subject_request SET hold_id = $2 WHERE id = $1`, [ids.held, holdId]);
    const res = await api.h.app.inject({ method: "GET", url: "/v1/holds?active=true", headers: bearer(CONSOLE_KEYS.viewer) });
    expect(res.statusCode).toBe(200);
    expectNoMarkers(res);
    expect(res.json()).toEqual({
      holds: [expect.objectContaining({ id: holdId, active: true, waiting: 1, ground: "litigation hold, case 12-345" })],
      nextCursor: null,
    });
    const runs = await api.h.app.inject({ method: "GET", url: "/v1/retention/runs", headers: bearer(CONSOLE_KEYS.viewer) });
    expect(runs.json()).toEqual({ runs: [], nextCursor: null });
  });
});

describe("metrics", () => {
  it("count failed requests as overdue, previews apart, open requests by band, and completion times", async () => {
    const res = await api.h.app.inject({ method: "GET", url: "/metrics", headers: bearer(TEST_KEYS.admin) });
    expect(res.statusCode).toBe(200);
    expectNoMarkers(res);
    const text = res.body;
    expect(text).toContain('lethe_requests_overdue{type="erasure"} 1');
    expect(text).toContain('lethe_requests_failed{type="erasure"} 1');
    expect(text).toContain('lethe_requests_open{type="erasure",band="overdue"} 1');
    expect(text).toContain('lethe_requests_open{type="erasure",band="due_soon"} 1');
    expect(text).toContain('lethe_requests_open{type="erasure",band="on_track"} 2');
    expect(text).toContain('lethe_requests_due_within_3d{type="erasure"} 0');
    expect(text).toContain('lethe_request_previews{type="erasure",status="queued"} 1');
    expect(text).toContain("# TYPE lethe_request_completion_seconds histogram");
    // The completed (not found) request: received 5 days ago, answered now.
    expect(text).toContain('lethe_request_completion_seconds_bucket{type="erasure",dry_run="false",le="259200"} 0');
    expect(text).toContain('lethe_request_completion_seconds_bucket{type="erasure",dry_run="false",le="604800"} 1');
    expect(text).toContain('lethe_request_completion_seconds_count{type="erasure",dry_run="false"} 1');
  });
});

describe("a failing store", () => {
  it("shows its error, attempts, next retry and its job in the queue dashboard", async () => {
    await api.ds.query(`INSERT INTO lethe.request_store (request_id, store, status, error_code) VALUES ($1, 'shop', 'failed', 'store_unavailable')`, [
      ids.overdueFailed,
    ]);
    const jobId = requestJobId(ids.overdueFailed!);
    const before = Date.now();
    // The job submitted with the request waits; it comes back delayed, as a retry with backoff does.
    await (await api.h.queues.erasure.getJob(jobId))?.remove();
    await api.h.queues.erasure.add("erase-request", { requestId: ids.overdueFailed }, { jobId, delay: 60_000 });
    const body = (await list("?status=failed")).json<{ requests: Array<{ stores: { failing: Array<Record<string, unknown>> } }> }>();
    const failing = body.requests[0]!.stores.failing;
    expect(failing).toEqual([{ store: "shop", code: "store_unavailable", attempts: 0, nextRetryAt: expect.any(String), job: { queue: "erasure", id: jobId } }]);
    expect(new Date(failing[0]!.nextRetryAt as string).getTime()).toBeGreaterThanOrEqual(before + 59_000);
    const cookie = await login(api, CONSOLE_KEYS.viewer);
    const page = await api.h.app.inject({ method: "GET", url: "/admin/requests?status=failed", headers: { cookie } });
    expect(page.body).toContain(`<a href="/admin/queues/queue/erasure/${jobId}">job</a>`);
    expect(page.body).toContain("store_unavailable");
  });
});
