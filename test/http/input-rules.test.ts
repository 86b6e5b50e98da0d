import { connect } from "node:net";
import type { InjectOptions } from "fastify";
import { seedShop } from "../../demo/seed";
import { startApi, type ApiHandle } from "../../workers/api";
import { createLogger } from "../../src/logger";
import { TEST_KEYS } from "../helpers/config";
import { SHOP_MAP } from "../helpers/data-maps";
import { createHarness, type LetheHarness } from "../helpers/harness";
import { bearer, expectProblem } from "./harness";

/**
 * Issue #10, the cases found by hand: ids that are not UUIDs, NUL in text, prototype names as
 * identities, subject ids that cannot match the key column, Fastify's own errors, the hold scope,
 * the dashboard's write rules and the browser's page for a bad download link.
 */

const KEYS = `app:${TEST_KEYS.writer}:requests.write|requests.read;ops:${TEST_KEYS.admin}:admin;legal:${TEST_KEYS.holds}:holds.write|requests.read`;
const NOT_A_UUID = "123456789012345678901234567890123456";

function basic(key: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`ops:${key}`).toString("base64")}` };
}

/** Sends raw bytes and returns the status and content type of the answer. */
function sendRaw(url: string, raw: string): Promise<{ status: number; contentType: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", (err: NodeJS.ErrnoException) => (err.code === "ECONNRESET" || err.code === "EPIPE" ? undefined : reject(err)));
    socket.on("close", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), contentType: /\r\ncontent-type: *([^\r\n]*)/i.exec(text)?.[1] ?? "" });
    });
    socket.write(raw, () => socket.end());
  });
}

describe("input rules of the API (issue #10)", () => {
  let h: LetheHarness;
  let api: ApiHandle;

  beforeAll(async () => {
    h = await createHarness({
      map: SHOP_MAP,
      prepare: (url) => seedShop(url, { customers: 5 }).then(() => undefined),
      env: { LETHE_API_KEYS: KEYS },
    });
    api = await startApi({ ...h.config, port: 0 }, { logger: createLogger("silent"), dataMap: h.dataMap, handleSignals: false });
  }, 120_000);

  afterAll(async () => {
    await api?.close();
    await h?.cleanup();
  });

  const inject = (opts: InjectOptions) => api.app.inject(opts);

  it("answers a 36-character id that is not a UUID with 404 on every id route", async () => {
    const cases: Array<[string, string]> = [
      ["POST", `/v1/requests/${NOT_A_UUID}/retry`],
      ["GET", `/v1/requests/${NOT_A_UUID}/receipt`],
      ["GET", `/v1/requests/${NOT_A_UUID}`],
      ["GET", `/v1/holds/${NOT_A_UUID}`],
      ["DELETE", `/v1/holds/${NOT_A_UUID}`],
      ["GET", `/v1/retention/runs/${NOT_A_UUID}`],
    ];
    for (const [method, url] of cases) {
      const body = expectProblem(await inject({ method: method as InjectOptions["method"], url, headers: bearer(TEST_KEYS.admin) }), 404);
      expect(body.detail).toContain("UUID");
    }
  });

  it("refuses NUL and unpaired surrogates with a 400 naming the field", async () => {
    const nul = await inject({
      method: "POST",
      url: "/v1/holds",
      headers: bearer(TEST_KEYS.holds),
      payload: { subject: { id: "1" }, ground: "litigation\u0000hold" },
    });
    expect(expectProblem(nul, 400).errors).toEqual([{ field: "ground", message: "must not contain NUL characters" }]);
    const lone = await inject({
      method: "POST",
      url: "/v1/requests",
      headers: { ...bearer(TEST_KEYS.writer), "content-type": "application/json" },
      payload: '{"type":"erasure","subject":{"email":"a\\ud800@example.com"}}',
    });
    expect(expectProblem(lone, 400).errors).toEqual([{ field: "subject.email", message: "must be valid Unicode text" }]);
  });

  it("takes identity names as the map's own, never the prototype's", async () => {
    for (const name of ["toString", "constructor", "hasOwnProperty"]) {
      const res = await inject({
        method: "POST",
        url: "/v1/requests",
        headers: bearer(TEST_KEYS.writer),
        payload: { type: "erasure", subject: { [name]: "x" } },
      });
      const body = expectProblem(res, 400);
      expect(body.errors).toEqual([expect.objectContaining({ field: `subject.${name}` })]);
    }
  });

  it("checks subject.id against the key column's type before anything is recorded", async () => {
    for (const id of ["abc", "1.5", "99999999999999999999"]) {
      const res = await inject({ method: "POST", url: "/v1/requests", headers: bearer(TEST_KEYS.writer), payload: { type: "erasure", subject: { id } } });
      expect(expectProblem(res, 400).errors).toEqual([expect.objectContaining({ field: "subject.id" })]);
      const hold = await inject({
        method: "POST",
        url: "/v1/holds",
        headers: bearer(TEST_KEYS.holds),
        payload: { subject: { id }, ground: "litigation hold" },
      });
      expect(expectProblem(hold, 400).errors).toEqual([expect.objectContaining({ field: "subject.id" })]);
    }
    const ok = await inject({
      method: "POST",
      url: "/v1/requests",
      headers: bearer(TEST_KEYS.writer),
      payload: { type: "erasure", subject: { id: "3" }, dryRun: true },
    });
    expect(ok.statusCode).toBe(202);
  });

  it("needs holds.write to create or release a legal hold; requests.write cannot", async () => {
    const payload = { subject: { id: "2" }, ground: "litigation hold, case 7" };
    expectProblem(await inject({ method: "POST", url: "/v1/holds", headers: bearer(TEST_KEYS.writer), payload }), 403);
    const placed = await inject({ method: "POST", url: "/v1/holds", headers: bearer(TEST_KEYS.holds), payload });
    expect(placed.statusCode).toBe(201);
    const id = placed.json<{ id: string }>().id;
    expectProblem(await inject({ method: "DELETE", url: `/v1/holds/${id}`, headers: bearer(TEST_KEYS.writer) }), 403);
    expect((await inject({ method: "GET", url: `/v1/holds/${id}`, headers: bearer(TEST_KEYS.writer) })).json()).toMatchObject({ active: true });
    expect((await inject({ method: "DELETE", url: `/v1/holds/${id}`, headers: bearer(TEST_KEYS.holds) })).json()).toMatchObject({ active: false });
  });

  it("answers Fastify's and Node's own errors as problem+json", async () => {
    expectProblem(
      await inject({ method: "POST", url: "/v1/requests", headers: { ...bearer(TEST_KEYS.writer), "content-type": "text/plain" }, payload: "x" }),
      415,
    );
    const raw = [
      [`GET /v1/requests/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 400],
      [`GET /v1/requests/${"c".repeat(150)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 414],
      [`GET /v1/requests HTTP/1.1\r\nHost: x\r\nX-Big: ${"b".repeat(20_000)}\r\n\r\n`, 431],
      [`GET /v1/requests HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n`, 400],
    ] as const;
    for (const [bytes, status] of raw) {
      const res = await sendRaw(api.url, bytes);
      expect(res.status).toBe(status);
      expect(res.contentType).toMatch(/^application\/problem\+json/);
    }
  });

  it("shows a person's browser a small HTML page for a bad download link; API clients keep the problem", async () => {
    const url = `/v1/exports/${crypto.randomUUID()}/download?token=forged`;
    const page = await inject({ method: "GET", url, headers: { accept: "text/html,application/xhtml+xml,*/*;q=0.8" } });
    expect(page.statusCode).toBe(403);
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    expect(page.body).toContain("<h1>Invalid download link</h1>");
    expect(page.body).not.toContain("<script");
    expectProblem(await inject({ method: "GET", url, headers: { accept: "application/json" } }), 403);
    const mangled = await inject({ method: "GET", url: "/v1/exports/not-an-id/download?token=x", headers: { accept: "text/html" } });
    expect(mangled.statusCode).toBe(404);
    expect(mangled.headers["content-type"]).toMatch(/^text\/html/);
  });

  it("keeps the dashboard read-only by default", async () => {
    const res = await inject({ method: "PUT", url: "/admin/queues/api/queues/pause", headers: bearer(TEST_KEYS.admin), payload: {} });
    expect(expectProblem(res, 403).detail).toContain("LETHE_DASHBOARD_WRITE");
    const queues = await inject({ method: "GET", url: "/admin/queues/api/queues", headers: bearer(TEST_KEYS.admin) });
    expect(queues.json<{ queues: Array<{ readOnlyMode: boolean }> }>().queues.every((q) => q.readOnlyMode)).toBe(true);
  });
});

describe("the dashboard with LETHE_DASHBOARD_WRITE=true", () => {
  let h: LetheHarness;
  let api: ApiHandle;

  beforeAll(async () => {
    h = await createHarness({
      map: SHOP_MAP,
      env: { LETHE_API_KEYS: KEYS, LETHE_DASHBOARD_WRITE: "true" },
      prepare: (url) => seedShop(url, { customers: 1 }).then(() => undefined),
    });
    api = await startApi({ ...h.config, port: 0 }, { logger: createLogger("silent"), dataMap: h.dataMap, handleSignals: false });
  }, 120_000);

  afterAll(async () => {
    await api?.close();
    await h?.cleanup();
  });

  it("refuses a cross-origin change made with the browser's Basic login, and takes a same-origin one", async () => {
    const url = "/admin/queues/api/queues/pause";
    const cross = await api.app.inject({
      method: "PUT",
      url,
      headers: { ...basic(TEST_KEYS.admin), origin: "http://evil.example", host: "127.0.0.1:8080" },
      payload: {},
    });
    expect(expectProblem(cross, 403).detail).toContain("same origin");
    const noOrigin = await api.app.inject({ method: "PUT", url, headers: basic(TEST_KEYS.admin), payload: {} });
    expectProblem(noOrigin, 403);
    const same = await api.app.inject({
      method: "PUT",
      url,
      headers: { ...basic(TEST_KEYS.admin), origin: "http://127.0.0.1:8080", host: "127.0.0.1:8080" },
      payload: {},
    });
    expect(same.statusCode).toBe(200);
    await api.app.inject({ method: "PUT", url: "/admin/queues/api/queues/resume", headers: bearer(TEST_KEYS.admin), payload: {} });
  });
});
