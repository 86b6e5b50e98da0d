import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { parseEnv } from "node:util";
import { readFileSync } from "node:fs";
import { PG_BASE, queryRows } from "../helpers/db";
import { REPO_ROOT, runTs } from "../helpers/child-process";
import { testEnv } from "../helpers/harness";

/**
 * Issue #10, configuration a person can use: `.env` alone configures `lethe migrate` (which
 * creates the database), the real environment wins over the file, `.env.example` is valid shell,
 * a missing variable with no env file says so, and an unreachable Postgres or Redis stops every
 * process after a bounded wait with one line naming the variable.
 */
jest.setTimeout(120_000);

const CLI = "workers/cli.ts";

/** A TCP port nobody listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const envFile = (vars: Record<string, string>): string =>
  Object.entries(vars)
    .map(([k, v]) => `${k}='${v}'`)
    .join("\n") + "\n";

describe("configuration from .env", () => {
  let dir: string;
  const dbName = `lethe_envfile_${randomBytes(4).toString("hex")}`;
  const dbUrl = Object.assign(new URL(PG_BASE), { pathname: `/${dbName}` }).toString();

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "lethe-env-"));
  });

  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await queryRows(PG_BASE, `DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
  });

  it("lets .env alone configure `lethe migrate`, which creates the missing database first", async () => {
    writeFileSync(join(dir, ".env"), envFile({ ...testEnv(dbUrl), LETHE_MAIL_FROM: "Lethe <lethe@localhost>" }));
    const res = await runTs(CLI, ["migrate"], {}, 60_000, { cwd: dir });
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`created the database ${dbName}`);
    expect(res.stdout).toContain("applied ");
    const again = await runTs(CLI, ["migrate"], {}, 60_000, { cwd: dir });
    expect(again).toMatchObject({ code: 0, stderr: "" });
    expect(again.stdout).toMatch(/up to date/);
  });

  it("takes a variable from the real environment over the file", async () => {
    const port = await closedPort();
    const unreachable = Object.assign(new URL(dbUrl), { port: String(port) }).toString();
    writeFileSync(join(dir, ".env"), envFile({ ...testEnv(unreachable), LETHE_START_TIMEOUT_MS: "500" }));
    const res = await runTs(CLI, ["migrate"], { DATABASE_URL: dbUrl }, 60_000, { cwd: dir });
    expect(res).toMatchObject({ code: 0, stderr: "" });
    expect(res.stdout).toMatch(/up to date/);
  });

  it("says so when a variable is missing and no env file was found", async () => {
    const empty = mkdtempSync(join(tmpdir(), "lethe-noenv-"));
    try {
      const res = await runTs(CLI, ["migrate"], {}, 60_000, { cwd: empty });
      expect(res.code).toBe(1);
      expect(res.stderr).toContain("LETHE_ENCRYPTION_KEY");
      expect(res.stderr).toContain(`no env file was found at ${join(empty, ".env")}`);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it("ships a .env.example a shell can source, with the values Lethe reads", () => {
    const script = `set -a; . ./.env.example; set +a; node -e 'process.stdout.write(JSON.stringify(process.env))'`;
    const shell = JSON.parse(execFileSync("bash", ["-c", script], { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? "" }, encoding: "utf8" })) as Record<
      string,
      string
    >;
    const parsed = parseEnv(readFileSync(join(REPO_ROOT, ".env.example"), "utf8"));
    expect(Object.keys(parsed).length).toBeGreaterThan(30);
    for (const [k, v] of Object.entries(parsed)) expect([k, shell[k] ?? ""]).toEqual([k, v]);
    expect(shell.LETHE_MAIL_FROM).toBe("Lethe <lethe@localhost>");
  });
});

describe("start-up failures name the variable, in every process", () => {
  let env: Record<string, string>;
  let port: number;

  beforeAll(async () => {
    port = await closedPort();
    env = { ...testEnv(PG_BASE), LETHE_START_TIMEOUT_MS: "1500", LETHE_DATA_MAP: join(REPO_ROOT, "demo", "lethe.config.json"), SHOP_DATABASE_URL: PG_BASE };
  });

  it.each([
    ["api", ["api"]],
    ["worker", ["worker"]],
    ["status", ["status", "00000000-0000-4000-8000-000000000000"]],
    ["migrate", ["migrate"]],
  ])("`lethe %s` with Postgres unreachable: one line naming DATABASE_URL, exit 1", async (_name, args) => {
    const res = await runTs(CLI, args, { ...env, DATABASE_URL: `postgres://postgres:secret-pw@127.0.0.1:${port}/lethe` }, 60_000);
    expect(res.code).toBe(1);
    const lines = res.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("DATABASE_URL");
    expect(lines[0]).toContain(`127.0.0.1:${port}`);
    expect(res.stderr).not.toContain("secret-pw");
  });

  it("`lethe worker` with Redis unreachable: one line naming REDIS_URL, exit 1", async () => {
    const res = await runTs(CLI, ["worker"], { ...env, REDIS_URL: `redis://127.0.0.1:${port}` }, 60_000);
    expect(res.code).toBe(1);
    const lines = res.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("REDIS_URL");
  });
});
