import { TEST_KEYS } from "../helpers/config";
import { bearer, expectProblem, useMigratedApi } from "./harness";

const api = useMigratedApi();

function basic(key: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`ops:${key}`).toString("base64")}` };
}

describe("/admin/queues", () => {
  it("serves the dashboard to an admin key (Bearer)", async () => {
    const res = await api.h.app.inject({ method: "GET", url: "/admin/queues", headers: bearer(TEST_KEYS.admin) });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/html/);
    expect(res.body).toContain('<base href="/admin/queues/"');
    expect(res.body).toContain("<title>Lethe</title>");
  });

  it("serves the dashboard to an admin key given as the Basic password (browser login)", async () => {
    const res = await api.h.app.inject({ method: "GET", url: "/admin/queues", headers: basic(TEST_KEYS.admin) });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/html/);
  });

  it("challenges a browser with Basic when no key is sent", async () => {
    const res = await api.h.app.inject({ method: "GET", url: "/admin/queues" });
    expectProblem(res, 401);
    expect(res.headers["www-authenticate"]).toBe('Basic realm="lethe"');
  });

  it("refuses a wrong Basic password", async () => {
    expectProblem(await api.h.app.inject({ method: "GET", url: "/admin/queues", headers: basic("wrong-password-000000") }), 401);
  });

  it("refuses a writer key (403), Bearer or Basic", async () => {
    expectProblem(await api.h.app.inject({ method: "GET", url: "/admin/queues", headers: bearer(TEST_KEYS.writer) }), 403);
    expectProblem(await api.h.app.inject({ method: "GET", url: "/admin/queues", headers: basic(TEST_KEYS.writer) }), 403);
  });

  it("lists the erasure and maintenance queues on its API, for admins only", async () => {
    const url = "/admin/queues/api/queues";
    expectProblem(await api.h.app.inject({ method: "GET", url }), 401);
    expectProblem(await api.h.app.inject({ method: "GET", url, headers: bearer(TEST_KEYS.reader) }), 403);
    const res = await api.h.app.inject({ method: "GET", url, headers: bearer(TEST_KEYS.admin) });
    expect(res.statusCode).toBe(200);
    const names = res
      .json<{ queues: Array<{ name: string }> }>()
      .queues.map((q) => q.name)
      .sort();
    expect(names).toEqual(["erasure", "maintenance"]);
  });

  it("protects the static assets and unknown sub-paths too", async () => {
    const page = await api.h.app.inject({ method: "GET", url: "/admin/queues", headers: bearer(TEST_KEYS.admin) });
    const script = /src="(static\/js\/main\.[^"]+\.js)"/.exec(page.body)?.[1];
    expect(script).toBeDefined();
    const asset = `/admin/queues/${script}`;
    expectProblem(await api.h.app.inject({ method: "GET", url: asset }), 401);
    const ok = await api.h.app.inject({ method: "GET", url: asset, headers: bearer(TEST_KEYS.admin) });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers["content-type"]).toMatch(/javascript/);

    expectProblem(await api.h.app.inject({ method: "GET", url: "/admin/queues/static/no-such-file.js" }), 401);
    expectProblem(await api.h.app.inject({ method: "GET", url: "/admin/queues/no/such/page" }), 401);
    expectProblem(await api.h.app.inject({ method: "GET", url: "/admin/queues/no/such/page", headers: bearer(TEST_KEYS.admin) }), 404);
    expectProblem(await api.h.app.inject({ method: "POST", url: "/admin/queues/api/queues/erasure/pause" }), 401);
  });
});
