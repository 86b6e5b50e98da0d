import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Queue } from "bullmq";
import { triggerRun, type RetentionRunView } from "../../src/retention/runs";
import { runSql } from "../helpers/db";
import type { TsChild } from "../helpers/child-process";
import { createHarness, type LetheHarness } from "../helpers/harness";
import { waitFor } from "../helpers/wait";
import { auditOf, NEVER, query, retentionQueue, waitForRun } from "./helpers";

/**
 * SIGKILL of a real worker process in the middle of a sweep of 200,000 rows in batches of 5,000;
 * a fresh worker resumes from the checkpoint, and the result — rows and counts — equals an
 * uninterrupted run of the same sweep over the same data.
 */
const ROWS = 200_000;
const BATCH = 5_000;

const SCHEMA = `
  CREATE TABLE people_pristine (id bigint PRIMARY KEY, email text NOT NULL UNIQUE, full_name text NOT NULL, address text, last_activity timestamptz NOT NULL);
  -- Activity spread over 5 years, always 12 h off a whole day, so no row sits on the cutoff.
  INSERT INTO people_pristine SELECT g, 'user' || g || '@example.com', 'Person ' || g, g || ' Main Street',
    now() - ((g * 7919) % 1826) * interval '1 day' - interval '12 hours' FROM generate_series(1, ${ROWS}) g;
  CREATE TABLE people (LIKE people_pristine INCLUDING ALL);
`;
const RESET = `TRUNCATE people; INSERT INTO people SELECT * FROM people_pristine; ANALYZE people;`;

const DATA_MAP = {
  version: 1,
  subject: { store: "app", table: "people", key: "id", identities: {} },
  stores: {
    app: {
      kind: "postgres",
      url: "${CRASH_DATABASE_URL}",
      tables: {
        people: {
          action: "anonymize",
          fields: {
            email: { category: "contact", mask: "email" },
            full_name: { category: "identity", mask: "token" },
            address: { category: "location", mask: "null" },
          },
        },
      },
      ignore: { people_pristine: "the test's pristine copy of people" },
    },
  },
  retention: [
    {
      name: "stale",
      store: "app",
      table: "people",
      age: { column: "last_activity", olderThan: "P3Y" },
      action: "anonymize",
      batchSize: BATCH,
      schedule: NEVER,
      purpose: "test",
      legalBasis: "Art. 6(1)(b)",
    },
  ],
};

/** Final state: the masked rows' ids and a checksum of every column but the (keyed, per-run) masked email. */
async function state(url: string): Promise<{ masked: number; maskedIdsMd5: string; rowsMd5: string }> {
  const [r] = await query<{ masked: number; masked_ids: string; rows: string }>(
    url,
    `SELECT count(*) FILTER (WHERE email LIKE '%@erased.invalid')::int AS masked,
            md5(string_agg(id::text, ',' ORDER BY id) FILTER (WHERE email LIKE '%@erased.invalid')) AS masked_ids,
            md5(string_agg(id || '|' || full_name || '|' || coalesce(address, '∅') || '|' || last_activity, ',' ORDER BY id)) AS rows
       FROM people`,
  );
  return { masked: r!.masked, maskedIdsMd5: r!.masked_ids, rowsMd5: r!.rows };
}

describe("retention sweep: SIGKILL mid-sweep, resume from the checkpoint", () => {
  let h: LetheHarness;
  let queue: Queue;
  let dir: string;

  const startChild = async (): Promise<TsChild> => {
    const child = h.spawn("workers/cli.ts", ["worker", "--queues", "retention"], { LOG_LEVEL: "info", LETHE_LOCK_DURATION_MS: "1000" });
    await waitFor(
      async () =>
        child.stdout().includes("worker started")
          ? true
          : child.proc.exitCode !== null
            ? (() => {
                throw new Error(`worker exited: ${child.stderr()}`);
              })()
            : undefined,
      "the worker to start",
      30_000,
    );
    return child;
  };
  const stop = async (child: TsChild, signal: NodeJS.Signals): Promise<void> => {
    child.proc.kill(signal);
    await child.exited;
  };
  const trigger = () => triggerRun({ ds: h.ds, config: h.config, dataMap: h.dataMap, queue }, "stale", { dryRun: false, requestedBy: "test" });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lethe-crash-"));
    const path = join(dir, "lethe.config.json");
    writeFileSync(path, JSON.stringify(DATA_MAP));
    h = await createHarness({
      map: { path, urlVar: "CRASH_DATABASE_URL" },
      prepare: (url) => runSql(url, SCHEMA),
    });
    queue = retentionQueue(h);
  }, 120_000);

  afterAll(async () => {
    await queue?.close();
    await h?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a killed run resumes where it stopped; rows and counts equal an uninterrupted run", async () => {
    // Uninterrupted.
    await runSql(h.appDb.url, RESET);
    const a = await startChild();
    const whole = await waitForRun(h, (await trigger()).id, ["completed", "failed"], 120_000);
    await stop(a, "SIGTERM");
    expect({ status: whole.status, error: whole.error }).toEqual({ status: "completed", error: null });
    // Batches hold at most BATCH due rows; their size adapts to their measured time, so the count varies.
    expect(whole.batches).toBeGreaterThanOrEqual(Math.ceil(whole.rows.matched / BATCH));
    const wholeState = await state(h.appDb.url);
    expect(wholeState.masked).toBe(whole.rows.changed);
    expect(whole.rows.changed).toBeGreaterThan(ROWS / 3);

    // Interrupted: SIGKILL once a few batches have committed.
    await runSql(h.appDb.url, RESET);
    const b = await startChild();
    const run = await trigger();
    const atKill = await waitFor(
      async () => {
        const [r] = (await h.ds.query(`SELECT batches, status FROM lethe.retention_run WHERE id = $1`, [run.id])) as Array<{ batches: number; status: string }>;
        return r && r.batches >= 5 ? r : undefined;
      },
      "five batches",
      60_000,
      5,
    );
    await stop(b, "SIGKILL");
    expect(atKill.status).toBe("running");
    const [killed] = (await h.ds.query(`SELECT status, batches, checkpoint, pending FROM lethe.retention_run WHERE id = $1`, [run.id])) as Array<{
      status: string;
      batches: number;
      checkpoint: string[] | null;
      pending: { xid: string } | null;
    }>;
    expect(killed!.status).toBe("running");
    expect(killed!.checkpoint).not.toBeNull();
    const maskedAtKill = await query<{ id: string; email: string }>(
      h.appDb.url,
      `SELECT id::text, email FROM people WHERE email LIKE '%@erased.invalid' ORDER BY id`,
    );
    expect(maskedAtKill.length).toBeGreaterThan(0);
    expect(maskedAtKill.length).toBeLessThan(wholeState.masked);

    // A fresh worker takes the stalled job over and resumes from the checkpoint.
    const c = await startChild();
    const resumed: RetentionRunView = await waitForRun(h, run.id, ["completed", "failed"], 120_000);
    await stop(c, "SIGTERM");
    // The batch in flight at the kill (recorded as pending before its COMMIT) was settled through txid_status.
    expect(killed!.pending).not.toBeNull();
    expect(c.stdout()).toMatch(/the interrupted batch (committed; resuming after it|did not commit; running it again)/);
    expect(resumed).toMatchObject({ status: "completed", rows: whole.rows });
    expect(await state(h.appDb.url)).toEqual(wholeState);
    // Rows masked before the kill were not masked again (their keyed emails are unchanged).
    const again = new Map(
      (
        await query<{ id: string; email: string }>(h.appDb.url, `SELECT id::text, email FROM people WHERE id = ANY($1::bigint[])`, [
          maskedAtKill.map((r) => r.id),
        ])
      ).map((r) => [r.id, r.email]),
    );
    for (const r of maskedAtKill) expect(again.get(r.id)).toBe(r.email);
    expect((await auditOf(h, run.id)).map((e) => e.event)).toEqual(["retention.completed"]);
  }, 300_000);
});
