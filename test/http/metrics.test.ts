import { TEST_KEYS } from "../helpers/config";
import { bearer, expectProblem, useMigratedApi } from "./harness";

describe("GET /metrics", () => {
  const api = useMigratedApi();

  it("reports requests by status, deadlines, holds and queue jobs, in Prometheus format, without personal data", async () => {
    const marker = "metrics-marker-7f3a@example.com";
    const post = await api.h.app.inject({
      method: "POST",
      url: "/v1/requests",
      headers: bearer(TEST_KEYS.writer),
      payload: { type: "erasure", subject: { email: marker } },
    });
    expect(post.statusCode).toBe(202);
    // A request received long ago that is still open: past its one-month due date.
    await api.ds.query(
      `INSERT INTO lethe.subject_request (type, status, received_at, due_at, subject_hash, requested_by) VALUES ('erasure', 'running', now() - interval '40 days', now() - interval '9 days', 'x', 'test')`,
    );
    await api.ds.query(`INSERT INTO lethe.legal_hold (subject_hash, ground, created_by) VALUES ('y', 'litigation', 'test')`);

    const res = await api.h.app.inject({ method: "GET", url: "/metrics", headers: bearer(TEST_KEYS.admin) });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/plain/);
    const text = res.body;
    expect(text).toContain('lethe_requests{type="erasure",status="queued"} 1');
    expect(text).toContain('lethe_requests{type="erasure",status="running"} 1');
    expect(text).toContain('lethe_requests_overdue{type="erasure"} 1');
    expect(text).toContain("lethe_legal_holds_active 1");
    expect(text).toContain('lethe_queue_jobs{queue="erasure",state="waiting"} 1');
    expect(text).toMatch(/lethe_audit_unsealed \d+/);
    expect(text).not.toContain(marker);
  });

  it("needs an admin key", async () => {
    expectProblem(await api.h.app.inject({ method: "GET", url: "/metrics" }), 401);
    expectProblem(await api.h.app.inject({ method: "GET", url: "/metrics", headers: bearer(TEST_KEYS.writer) }), 403);
  });
});
