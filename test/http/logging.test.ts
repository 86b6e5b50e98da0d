import { Writable } from "node:stream";
import type { DataSource } from "typeorm";
import { TEST_KEYS } from "../helpers/config";
import { migratedLetheDb, type ScratchDb } from "../helpers/db";
import { bearer, startHarness, type Harness } from "./harness";

const SUBJECT = "grace.hopper.logtest@example.org";
const WRONG_KEY = "someone-elses-secret-key-123";

let db: ScratchDb;
let ds: DataSource;
let h: Harness;
const lines: string[] = [];

beforeAll(async () => {
  ({ db, ds } = await migratedLetheDb());
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      done();
    },
  });
  h = await startHarness(ds, { destination: sink, logLevel: "trace" });
});

afterAll(async () => {
  await h?.close();
  await ds?.destroy();
  await db?.drop();
});

it("never logs the subject value or an API key, whatever the request", async () => {
  const writer = bearer(TEST_KEYS.writer);
  const created = await h.app.inject({
    method: "POST",
    url: "/v1/requests",
    headers: { ...writer, "idempotency-key": "log-test-1" },
    payload: { type: "erasure", subject: { email: SUBJECT } },
  });
  expect(created.statusCode).toBe(202);
  const id = created.json<{ id: string }>().id;
  const calls = [
    h.app.inject({
      method: "POST",
      url: "/v1/requests",
      headers: { ...writer, "idempotency-key": "log-test-1" },
      payload: { type: "erasure", subject: { email: SUBJECT } },
    }),
    h.app.inject({ method: "GET", url: `/v1/requests/${id}`, headers: writer }),
    h.app.inject({ method: "GET", url: `/v1/requests/${encodeURIComponent(SUBJECT)}?email=${encodeURIComponent(SUBJECT)}`, headers: writer }),
    h.app.inject({ method: "GET", url: `/nowhere/${SUBJECT}` }),
    h.app.inject({ method: "POST", url: "/v1/requests", headers: bearer(WRONG_KEY), payload: { type: "erasure", subject: { email: SUBJECT } } }),
    h.app.inject({ method: "POST", url: "/v1/requests", headers: bearer(TEST_KEYS.reader), payload: { type: "erasure", subject: { email: SUBJECT } } }),
    h.app.inject({ method: "POST", url: "/v1/requests", headers: writer, payload: { type: "erasure", subject: { phone: SUBJECT } } }),
    h.app.inject({ method: "POST", url: "/v1/requests", headers: writer, payload: { type: "erasure", subject: { email: SUBJECT }, note: SUBJECT } }),
    h.app.inject({
      method: "POST",
      url: "/v1/requests",
      headers: { ...writer, "content-type": "application/json" },
      payload: `{"subject":{"email":"${SUBJECT}"`,
    }),
    h.app.inject({ method: "POST", url: "/v1/requests", headers: { ...writer, "content-type": "text/plain" }, payload: SUBJECT }),
    h.app.inject({ method: "GET", url: "/admin/queues/api/queues", headers: bearer(TEST_KEYS.admin) }),
    h.app.inject({ method: "GET", url: "/admin/queues", headers: { authorization: `Basic ${Buffer.from(`x:${WRONG_KEY}`).toString("base64")}` } }),
  ];
  const statuses = (await Promise.all(calls)).map((r) => r.statusCode);
  expect(statuses).toEqual([202, 200, 404, 404, 401, 403, 400, 400, 400, 415, 200, 401]);

  // The sink saw the requests (so the check below is not vacuous) ...
  const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const incoming = entries.filter((e) => e.msg === "incoming request");
  expect(incoming.length).toBeGreaterThanOrEqual(calls.length + 1);
  expect(incoming.map((e) => (e.req as { route: string }).route)).toContain("/v1/requests/:id");
  expect(entries.some((e) => e.msg === "request completed")).toBe(true);

  // ... and not one line holds the subject (raw or URL-encoded) or any key.
  const secrets = [SUBJECT, encodeURIComponent(SUBJECT), WRONG_KEY, ...Object.values(TEST_KEYS)];
  for (const line of lines) {
    for (const secret of secrets) expect(line).not.toContain(secret);
  }
});
