import { Queue } from "bullmq";
import { QUEUES } from "../../src/queues/names";
import { shownQueues } from "../../src/http/services";
import { TEST_KEYS } from "../helpers/config";
import { bearer, useMigratedApi } from "../http/harness";
import { CONSOLE_ENV, CONSOLE_KEYS, login } from "./support";

const api = useMigratedApi({ env: CONSOLE_ENV });

describe("the queue dashboard from the console", () => {
  it("shows every queue Lethe runs, retention and rights included", async () => {
    // Only the queues' names are read: stand-ins do.
    const byName = Object.fromEntries(Object.entries(QUEUES).map(([key, name]) => [key, { name } as unknown as Queue]));
    const shown = shownQueues(byName as unknown as Parameters<typeof shownQueues>[0]);
    expect(shown.map((q) => q.name).sort()).toEqual(Object.values(QUEUES).sort());
  });

  it("opens with a console session (read-only for console.read), and refuses changes without operate", async () => {
    const cookie = await login(api, CONSOLE_KEYS.viewer);
    const res = await api.h.app.inject({ method: "GET", url: "/admin/queues/api/queues", headers: { cookie } });
    expect(res.statusCode).toBe(200);
    const pause = await api.h.app.inject({ method: "PUT", url: "/admin/queues/api/queues/erasure/pause", headers: { cookie } });
    expect(pause.statusCode).toBe(403);
    // The console's navigation links to it.
    const page = await api.h.app.inject({ method: "GET", url: "/admin/requests", headers: { cookie } });
    expect(page.body).toContain('<a href="/admin/queues">Queues</a>');
    expect((await api.h.app.inject({ method: "GET", url: "/admin/queues/api/queues", headers: bearer(TEST_KEYS.reader) })).statusCode).toBe(403);
  });
});
