import { randomBytes } from "node:crypto";
import { Client } from "pg";
import { seedMarkedCustomer, seedShop } from "../../demo/seed";
import { MIGRATIONS } from "../../src/db/data-source";
import type { RequestView } from "../../src/requests/view";
import { createScratchDb, type ScratchDb } from "../helpers/db";
import { runTs } from "../helpers/child-process";
import { SHOP_MAP } from "../helpers/data-maps";
import { createHarness, testEnv, type LetheHarness } from "../helpers/harness";
import { shopSteps, shopSubject, sortSteps } from "../helpers/shop";

/** Smoke tests of the `lethe` command line, run as a real process (`node --import tsx workers/cli.ts`). */
jest.setTimeout(120_000);

const CLI = "workers/cli.ts";

describe("lethe --help", () => {
  const commands: string[][] = [[], ["api"], ["worker"], ["migrate"], ["init"], ["check"], ["request", "erasure"], ["status"]];

  it.each(commands.map((c) => [c.join(" ") || "(root)", c] as const))("%s --help exits 0 with its usage", async (_name, cmd) => {
    const res = await runTs(CLI, [...cmd, "--help"], {});
    expect(res).toMatchObject({ code: 0, stderr: "" });
    expect(res.stdout).toContain(`Usage: lethe${cmd.length > 0 ? ` ${cmd.join(" ")}` : ""} [options]`);
  });
});

describe("lethe migrate", () => {
  let db: ScratchDb;

  beforeAll(async () => {
    db = await createScratchDb("lethe_cli");
  });

  afterAll(async () => {
    await db?.drop();
  });

  it("applies every migration to a fresh database, then says it is up to date", async () => {
    const env = testEnv(db.url);
    const first = await runTs(CLI, ["migrate"], env);
    expect(first).toMatchObject({ code: 0, stderr: "" });
    expect(first.stdout.trim().split("\n")).toEqual(MIGRATIONS.map((m) => `applied ${m.name}`));
    const c = new Client({ connectionString: db.url });
    await c.connect();
    try {
      const tables = await c.query<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE schemaname = 'lethe'`);
      expect(tables.rows.map((r) => r.t)).toEqual(expect.arrayContaining(["subject_request", "request_store", "request_step", "audit_log"]));
    } finally {
      await c.end();
    }
    const second = await runTs(CLI, ["migrate"], env);
    expect(second).toMatchObject({ code: 0, stderr: "" });
    expect(second.stdout).toMatch(/up to date/);
  });
});

describe("lethe request erasure and lethe status, against a running worker", () => {
  let h: LetheHarness;
  const marker = `cli-${randomBytes(4).toString("hex")}`;
  let id = 0;

  beforeAll(async () => {
    h = await createHarness({
      map: SHOP_MAP,
      prepare: async (url) => {
        await seedShop(url, { customers: 20 });
        id = await seedMarkedCustomer(url, marker);
      },
    });
    await h.startWorker();
  });

  afterAll(async () => {
    await h?.cleanup();
  });

  it("--wait prints the completed request; status prints it again; an unknown id exits 1", async () => {
    const subject = await shopSubject(h.appDb.url, id);
    const res = await runTs(CLI, ["request", "erasure", "--subject", String(id), "--wait", "--timeout", "60"], h.env);
    expect(res).toMatchObject({ code: 0, stderr: "" });
    const view = JSON.parse(res.stdout) as RequestView;
    expect(view).toMatchObject({ type: "erasure", status: "completed", dryRun: false, error: null });
    expect(sortSteps(view.steps)).toEqual(shopSteps(subject, h.dataMap));
    expect(res.stdout).not.toContain(marker);
    const [row] = (await h.ds.query(`SELECT requested_by FROM lethe.subject_request WHERE id = $1`, [view.id])) as Array<{ requested_by: string }>;
    expect(row!.requested_by).toBe("cli");

    const status = await runTs(CLI, ["status", view.id], h.env);
    expect(status).toMatchObject({ code: 0, stderr: "" });
    expect(JSON.parse(status.stdout)).toEqual(view);

    const unknown = await runTs(CLI, ["status", "00000000-0000-4000-8000-000000000000"], h.env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("no request 00000000-0000-4000-8000-000000000000");
  });
});

describe("lethe worker with a bad environment", () => {
  it("exits 1 naming LETHE_ENCRYPTION_KEY when it is missing", async () => {
    const env = testEnv("postgres://postgres@127.0.0.1:5432/postgres");
    delete env.LETHE_ENCRYPTION_KEY;
    const res = await runTs(CLI, ["worker"], env, 30_000);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/LETHE_ENCRYPTION_KEY/);
    expect(res.stdout).toBe("");
  });
});
