import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { checkDataMap } from "../../src/datamap/check";
import { parseDataMap } from "../../src/datamap/load";
import type { RequestView } from "../../src/requests/view";
import { runTs } from "../helpers/child-process";
import type { RawDataMap } from "../helpers/data-maps";
import { queryRows } from "../helpers/db";
import { waitForQueuesIdle } from "../helpers/job-events";
import { waitFor } from "../helpers/wait";
import { createMultiStore, readTree, type MultiStore } from "./fixture";

/**
 * Issue #3, files store safety: an identity value that would climb out of the files root
 * (`../../outside`) is refused — the request fails visibly with `unsafe_identity` and nothing
 * inside or outside the root is touched — and a pattern that escapes the root fails `lethe check`.
 */
jest.setTimeout(60_000);

/** The email of the hostile subject: as a path segment it leads from `root/by-email/` to `outside/`. */
const HOSTILE_EMAIL = "../../outside";

describe("path traversal through the files store", () => {
  let w: MultiStore;

  beforeAll(async () => {
    w = await createMultiStore({
      editMap: (raw) => {
        const stores = raw.stores as Record<string, { paths?: string[] }>;
        stores.uploads!.paths = [...stores.uploads!.paths!, "by-email/{email}/*"];
      },
    });
    await w.startWorker();
  });

  afterAll(async () => {
    await w?.cleanup();
  });

  it("erases by email for an ordinary subject (the pattern works)", async () => {
    const s = await w.addSubject("by-email");
    mkdirSync(join(w.root, "by-email", s.email), { recursive: true });
    writeFileSync(join(w.root, "by-email", s.email, "statement.pdf"), `statement of ${s.name}`);
    mkdirSync(join(w.root, "by-email", `x${s.email}`), { recursive: true });
    writeFileSync(join(w.root, "by-email", `x${s.email}`, "statement.pdf"), "someone else's");
    const { json } = await w.http<{ id: string }>("POST", "/v1/requests", { type: "erasure", subject: { email: s.email } });
    const view = await w.h.waitForStatus(json.id, ["completed", "failed"], 20_000);
    expect(view.status).toBe("completed");
    expect(view.steps).toEqual(expect.arrayContaining([{ store: "uploads", table: "by-email/{email}/*", action: "delete", rows: 1 }]));
    const files = readTree(w.root);
    expect([...files.keys()].filter((f) => f.startsWith(`by-email/${s.email}/`))).toEqual([]);
    expect(files.get(`by-email/x${s.email}/statement.pdf`)).toBe("someone else's");
  });

  it("refuses an email that climbs out of the root: the request fails with unsafe_identity and no file anywhere is touched", async () => {
    const [row] = await queryRows<{ id: number }>(
      w.h.appDb.url,
      `INSERT INTO customers (email, full_name, phone) VALUES ($1, 'Tra Versal', '+49 30 5550101') RETURNING id`,
      [HOSTILE_EMAIL],
    );
    const id = row!.id;
    // Its own files inside the root (the store must refuse before touching even these), and a
    // file where the hostile pattern leads: outside/<anything>.
    for (const f of [`avatars/${id}.png`, `uploads/${id}/contract.pdf`]) {
      mkdirSync(dirname(join(w.root, f)), { recursive: true });
      writeFileSync(join(w.root, f), "the hostile subject's own file");
    }
    writeFileSync(join(w.base, "outside", "passwd"), "root:x:0:0");
    const before = await w.state();
    expect(before.outside.size).toBe(2);

    const { json } = await w.http<{ id: string }>("POST", "/v1/requests", { type: "erasure", subject: { id: String(id) } });
    const view = await waitFor(
      async () => {
        const v = (await w.http<RequestView>("GET", `/v1/requests/${json.id}`)).json;
        return v.status === "failed" || v.status === "completed" ? v : undefined;
      },
      "the request to fail",
      20_000,
      50,
    );
    expect(view.status).toBe("failed");
    expect(view.error!.code).toBe("unsafe_identity");
    expect(view.error!.message).toContain('store "uploads"');
    expect(view.error!.message).toContain("nothing was deleted");
    expect(view.error!.message).not.toContain(HOSTILE_EMAIL);
    expect(view.error!.message).not.toContain("outside");
    const [failedStep] = (await w.h.ds.query(`SELECT detail FROM lethe.audit_log WHERE request_id = $1 AND event = 'request.failed'`, [json.id])) as Array<{
      detail: unknown;
    }>;
    expect(failedStep!.detail).toEqual({ code: "unsafe_identity", store: "uploads" });

    // Once every job of the request has ended: no file inside or outside the root changed.
    await waitForQueuesIdle([w.h.erasureQueue]);
    const after = await w.state();
    expect(after.outside).toEqual(before.outside);
    expect(after.files).toEqual(before.files);
    expect(readFileSync(join(w.base, "outside", "passwd"), "utf8")).toBe("root:x:0:0");
  });

  it("lethe check refuses a pattern that escapes the root, naming the pattern's key", async () => {
    const raw = JSON.parse(readFileSync(join(w.base, "lethe.config.json"), "utf8")) as RawDataMap & { stores: Record<string, { paths?: string[] }> };
    expect(await checkDataMap(parseDataMap(raw, "(test)", w.h.env))).toEqual([]);

    raw.stores.uploads!.paths = ["avatars/{id}.*", "../outside/{id}.txt", "uploads/{id}/../../../{id}"];
    const bad = join(w.base, "escaping.config.json");
    writeFileSync(bad, JSON.stringify(raw));
    const problems = await checkDataMap(parseDataMap(raw, bad, w.h.env));
    expect(problems.filter((p) => p.rule === "path-escapes-root").map((p) => p.key)).toEqual(["stores.uploads.paths.1", "stores.uploads.paths.2"]);

    // The command line says so too, and exits non-zero.
    const cli = await runTs("workers/cli.ts", ["check", "--map", bad], w.h.env, 30_000);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain("path-escapes-root");
    expect(cli.stderr).toContain("stores.uploads.paths.1");
  });
});
