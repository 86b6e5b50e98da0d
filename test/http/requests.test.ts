import { TEST_KEYS } from "../helpers/config";
import { bearer, expectProblem, useMigratedApi } from "./harness";

const api = useMigratedApi();

const EMAIL = "ada.lovelace+http@example.org";

function post(body: unknown, headers: Record<string, string> = bearer(TEST_KEYS.writer)) {
  return api.h.app.inject({ method: "POST", url: "/v1/requests", headers, payload: body as Record<string, unknown> });
}

describe("POST /v1/requests", () => {
  it("records the request, enqueues erasure-<id> with only the request id, and answers 202", async () => {
    const res = await post({ type: "erasure", subject: { email: EMAIL } });
    expect(res.statusCode).toBe(202);
    const body = res.json<{ id: string; status: string; dueAt: string }>();
    expect(Object.keys(body).sort()).toEqual(["dueAt", "id", "status"]);
    expect(body.status).toBe("queued");
    expect(new Date(body.dueAt).getTime()).toBeGreaterThan(Date.now() + 27 * 24 * 3600 * 1000);
    expect(res.headers.location).toBe(`/v1/requests/${body.id}`);
    expect(res.headers["idempotent-replayed"]).toBeUndefined();

    const job = await api.h.queues.erasure.getJob(`erasure-${body.id}`);
    expect(job).toBeDefined();
    expect(job!.data).toEqual({ requestId: body.id });

    // Neither the job's Redis hash nor any column of the row holds the subject in clear.
    const hash = await api.h.redis.hgetall(`${api.h.config.queuePrefix}:erasure:erasure-${body.id}`);
    expect(JSON.parse(hash.data!)).toEqual({ requestId: body.id });
    expect(JSON.stringify(hash)).not.toContain(EMAIL);

    const [row] = (await api.ds.query(`SELECT r.*, r::text AS whole FROM lethe.subject_request r WHERE id = $1`, [body.id])) as Array<{
      whole: string;
      identities: Buffer;
      requested_by: string;
      type: string;
      dry_run: boolean;
    }>;
    expect(row).toBeDefined();
    expect(row!.requested_by).toBe("app");
    expect(row!.type).toBe("erasure");
    expect(row!.dry_run).toBe(false);
    expect(row!.identities.length).toBeGreaterThan(28);
    expect(row!.identities.includes(Buffer.from(EMAIL))).toBe(false);
    expect(row!.whole).not.toContain(EMAIL);
    expect(row!.whole).not.toContain(Buffer.from(EMAIL).toString("hex"));
    const audit = (await api.ds.query(`SELECT a::text AS whole FROM lethe.audit_log a WHERE request_id = $1`, [body.id])) as Array<{ whole: string }>;
    expect(audit.length).toBeGreaterThan(0);
    for (const a of audit) expect(a.whole).not.toContain(EMAIL);
  });

  it("accepts a subject by id and a dry run", async () => {
    const res = await post({ type: "erasure", subject: { id: "42" }, dryRun: true });
    expect(res.statusCode).toBe(202);
    const [row] = (await api.ds.query(`SELECT dry_run FROM lethe.subject_request WHERE id = $1`, [res.json<{ id: string }>().id])) as Array<{
      dry_run: boolean;
    }>;
    expect(row!.dry_run).toBe(true);
  });

  it("returns the same request for a replayed Idempotency-Key: one row, one job", async () => {
    const headers = { ...bearer(TEST_KEYS.writer), "idempotency-key": "order-7781-erase" };
    const first = await post({ type: "erasure", subject: { email: "idem@example.org" } }, headers);
    const second = await post({ type: "erasure", subject: { email: "idem@example.org" } }, headers);
    expect(first.statusCode).toBe(202);
    expect(second.statusCode).toBe(202);
    const id = first.json<{ id: string }>().id;
    expect(second.json<{ id: string }>().id).toBe(id);
    expect(second.headers["idempotent-replayed"]).toBe("true");
    expect(second.headers.location).toBe(`/v1/requests/${id}`);
    const rows = (await api.ds.query(`SELECT id FROM lethe.subject_request WHERE idempotency_key = $1`, ["order-7781-erase"])) as unknown[];
    expect(rows).toHaveLength(1);
    const jobs = await api.h.queues.erasure.getJobs(["waiting", "delayed", "active", "prioritized"]);
    expect(jobs.filter((j) => j.data.requestId === id)).toHaveLength(1);
  });

  it("group-commits concurrent submissions: each gets its own row and audit entry, a key shared within a batch one row", async () => {
    const emails = Array.from({ length: 12 }, (_, i) => `batch-${i}@example.org`);
    const keyed = { ...bearer(TEST_KEYS.writer), "idempotency-key": "same-batch-key" };
    const [distinct, same] = await Promise.all([
      Promise.all(emails.map((email) => post({ type: "erasure", subject: { email } }))),
      Promise.all(Array.from({ length: 6 }, () => post({ type: "erasure", subject: { email: "keyed@example.org" } }, keyed))),
    ]);
    expect(distinct.map((r) => r.statusCode)).toEqual(emails.map(() => 202));
    const ids = distinct.map((r) => r.json<{ id: string }>().id);
    expect(new Set(ids).size).toBe(emails.length);
    const audited = (await api.ds.query(`SELECT request_id FROM lethe.audit_log WHERE event = 'request.received' AND request_id = ANY($1::uuid[])`, [
      ids,
    ])) as unknown[];
    expect(audited).toHaveLength(emails.length);

    expect(same.map((r) => r.statusCode)).toEqual(same.map(() => 202));
    const sameIds = new Set(same.map((r) => r.json<{ id: string }>().id));
    expect(sameIds.size).toBe(1);
    expect(same.filter((r) => r.headers["idempotent-replayed"] === "true")).toHaveLength(5);
    const rows = (await api.ds.query(`SELECT id FROM lethe.subject_request WHERE idempotency_key = 'same-batch-key'`)) as unknown[];
    expect(rows).toHaveLength(1);
  });

  it("refuses a replayed Idempotency-Key carrying a different request (422)", async () => {
    const headers = { ...bearer(TEST_KEYS.writer), "idempotency-key": "reuse-1" };
    expect((await post({ type: "erasure", subject: { email: "one@example.org" } }, headers)).statusCode).toBe(202);
    const res = await post({ type: "erasure", subject: { email: "two@example.org" } }, headers);
    const problem = expectProblem(res, 422);
    expect(problem.detail).not.toContain("two@example.org");
  });

  it("lets an admin key submit (admin implies every scope)", async () => {
    const res = await post({ type: "erasure", subject: { id: "7" } }, bearer(TEST_KEYS.admin));
    expect(res.statusCode).toBe(202);
  });
});

describe("POST /v1/requests: bad input is a 400 naming the field", () => {
  const cases: Array<[string, unknown, string]> = [
    ["missing subject", { type: "erasure" }, "subject"],
    ["unknown identity", { type: "erasure", subject: { phone: "+4915112345678" } }, "subject.phone"],
    ["two identities", { type: "erasure", subject: { id: "1", email: "a@example.org" } }, "subject"],
    ["empty subject", { type: "erasure", subject: {} }, "subject"],
    ["unsupported type", { type: "deletion", subject: { id: "1" } }, "type"],
    ["missing type", { subject: { id: "1" } }, "type"],
    ["non-string subject value", { type: "erasure", subject: { id: 42 } }, "subject.id"],
    ["empty subject value", { type: "erasure", subject: { email: "" } }, "subject.email"],
    ["subject value over 320 chars", { type: "erasure", subject: { email: `${"a".repeat(320)}@x.org` } }, "subject.email"],
    ["non-boolean dryRun", { type: "erasure", subject: { id: "1" }, dryRun: "yes" }, "dryRun"],
    ["extra field", { type: "erasure", subject: { id: "1" }, priority: "high" }, "priority"],
    ["array body", [1, 2], "body"],
  ];
  it.each(cases)("%s", async (_name, body, field) => {
    const res = await post(body);
    const problem = expectProblem(res, 400);
    const errors = problem.errors as Array<{ field: string; message: string }>;
    expect(errors.map((e) => e.field)).toContain(field);
    for (const e of errors) expect(typeof e.message).toBe("string");
    expect(problem.detail).not.toContain("+4915112345678");
  });

  it("invalid JSON", async () => {
    const res = await api.h.app.inject({
      method: "POST",
      url: "/v1/requests",
      headers: { ...bearer(TEST_KEYS.writer), "content-type": "application/json" },
      payload: `{"type":"erasure","subject":{"email":"${EMAIL}"`,
    });
    const problem = expectProblem(res, 400);
    expect(problem.detail).toBe("the request body is not valid JSON");
    expect(JSON.stringify(problem)).not.toContain(EMAIL);
  });

  it("no body at all", async () => {
    const res = await api.h.app.inject({ method: "POST", url: "/v1/requests", headers: bearer(TEST_KEYS.writer) });
    expect((expectProblem(res, 400).errors as Array<{ field: string }>)[0]!.field).toBe("body");
  });

  it.each([
    ["empty", ""],
    ["too long", "k".repeat(201)],
    ["non-ASCII", "schlüssel"],
  ])("bad Idempotency-Key (%s)", async (_name, key) => {
    const res = await api.h.app.inject({
      method: "POST",
      url: "/v1/requests",
      headers: { ...bearer(TEST_KEYS.writer), "idempotency-key": key },
      payload: { type: "erasure", subject: { id: "1" } },
    });
    expect((expectProblem(res, 400).errors as Array<{ field: string }>).map((e) => e.field)).toEqual(["Idempotency-Key"]);
  });

  it("a body over the limit is a 413", async () => {
    const res = await post({ type: "erasure", subject: { id: "1" }, pad: "x".repeat(api.h.config.bodyLimitBytes) });
    expectProblem(res, 413);
  });

  it("a text/plain body is a 415", async () => {
    const res = await api.h.app.inject({
      method: "POST",
      url: "/v1/requests",
      headers: { ...bearer(TEST_KEYS.writer), "content-type": "text/plain" },
      payload: "erase ada please",
    });
    expectProblem(res, 415);
  });

  it("writes no row for rejected input", async () => {
    const before = (await api.ds.query(`SELECT count(*)::int AS n FROM lethe.subject_request`)) as Array<{ n: number }>;
    await post({ type: "erasure", subject: { phone: "+4915112345678" } });
    await post({ type: "erasure", subject: { id: "1" }, extra: true });
    const after = (await api.ds.query(`SELECT count(*)::int AS n FROM lethe.subject_request`)) as Array<{ n: number }>;
    expect(after[0]!.n).toBe(before[0]!.n);
  });
});

describe("authentication", () => {
  it("401 without a key, with a Bearer challenge", async () => {
    const res = await post({ type: "erasure", subject: { id: "1" } }, {});
    expectProblem(res, 401);
    expect(res.headers["www-authenticate"]).toBe('Bearer realm="lethe"');
  });

  it("401 with a wrong key, with an invalid_token challenge", async () => {
    const res = await post({ type: "erasure", subject: { id: "1" } }, bearer("not-a-key-of-this-service"));
    expectProblem(res, 401);
    expect(res.headers["www-authenticate"]).toMatch(/^Bearer realm="lethe", error="invalid_token"$/);
  });

  it("401 for a Basic credential on the API (Bearer only)", async () => {
    const basic = `Basic ${Buffer.from(`x:${TEST_KEYS.writer}`).toString("base64")}`;
    const res = await post({ type: "erasure", subject: { id: "1" } }, { authorization: basic });
    expectProblem(res, 401);
  });

  it("403 for a reader key on POST", async () => {
    const res = await post({ type: "erasure", subject: { id: "1" } }, bearer(TEST_KEYS.reader));
    const problem = expectProblem(res, 403);
    expect(problem.detail).toContain("requests.write");
    expect(problem.detail).not.toContain(TEST_KEYS.reader);
  });

  it("checks the key before the body: an unauthenticated oversized body is a 401", async () => {
    const res = await post({ pad: "x".repeat(api.h.config.bodyLimitBytes) }, {});
    expectProblem(res, 401);
  });

  it("401 on GET without a key", async () => {
    expectProblem(await api.h.app.inject({ method: "GET", url: "/v1/requests/00000000-0000-4000-8000-000000000000" }), 401);
  });
});

describe("GET /v1/requests/:id", () => {
  it("returns the request view", async () => {
    const created = (await post({ type: "erasure", subject: { email: "view@example.org" } })).json<{ id: string; dueAt: string }>();
    const res = await api.h.app.inject({ method: "GET", url: `/v1/requests/${created.id}`, headers: bearer(TEST_KEYS.reader) });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^application\/json/);
    const view = res.json<Record<string, unknown>>();
    expect(view).toEqual({
      id: created.id,
      type: "erasure",
      status: "queued",
      dryRun: false,
      receivedAt: expect.any(String),
      dueAt: created.dueAt,
      completedAt: null,
      steps: [],
      error: null,
      // Not answered yet: no outcome, nobody looked for yet, nothing verified.
      outcome: null,
      subjectFound: null,
      verified: false,
    });
    expect(JSON.stringify(view)).not.toContain("view@example.org");
  });

  it("404 for an unknown id", async () => {
    const res = await api.h.app.inject({ method: "GET", url: "/v1/requests/00000000-0000-4000-8000-000000000000", headers: bearer(TEST_KEYS.reader) });
    expectProblem(res, 404);
  });

  it("404 for a malformed id", async () => {
    const res = await api.h.app.inject({ method: "GET", url: "/v1/requests/not-a-uuid", headers: bearer(TEST_KEYS.reader) });
    expectProblem(res, 404);
  });

  it("404 problem for an unknown route", async () => {
    const res = await api.h.app.inject({ method: "GET", url: "/v1/nothing-here?x=1" });
    const problem = expectProblem(res, 404);
    expect(problem.instance).toBe("/v1/nothing-here");
  });
});
