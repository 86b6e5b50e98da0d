/**
 * `npm run bench:erasure`: 1,000 erasures end to end (HTTP API → queue → one worker process →
 * completed) on a generated 4-table schema with 20 rows per subject, against a baseline that runs
 * the minimal hand-written erasure SQL for another 1,000 subjects in a loop, in the same run.
 * Last stdout line: {"erasures_per_s", "baseline_per_s", "ratio"}.
 */
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { loadConfig } from "../src/config";
import { startApi } from "../workers/api";
import { createLogger } from "../src/logger";
import { deletePrefixKeys } from "../support/queue-prefix";
import { createScratchDb } from "../support/scratch-db";
import { letheEnv, migrate, profileArgs, REDIS_URL, SCRATCH, startWorkerProcess } from "./support";
import { APP_SCHEMA, APP_SUBJECT, appStore, fillApp } from "./app-schema";

const SUBJECTS = Number(process.env.BENCH_SUBJECTS ?? 1000);
const IN_FLIGHT = 64;

const DATA_MAP = (urlVar: string) => ({ version: 1, subject: APP_SUBJECT, stores: { app: appStore(urlVar) } });

/** The same erasure, written by hand: one transaction per subject, sequential. */
async function baseline(url: string, ids: number[]): Promise<number> {
  const c = new Client({ connectionString: url });
  await c.connect();
  const started = process.hrtime.bigint();
  for (const id of ids) {
    await c.query("BEGIN");
    await c.query(
      `UPDATE orders SET user_id = NULL, billing_name = '[erased]', billing_email = substr(md5(billing_email), 1, 24) || '@erased.invalid' WHERE user_id = $1`,
      [id],
    );
    await c.query(`DELETE FROM comments WHERE user_id = $1`, [id]);
    await c.query(`DELETE FROM users WHERE id = $1`, [id]);
    await c.query("COMMIT");
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await c.end();
  return ids.length / seconds;
}

async function main(): Promise<void> {
  const own = await createScratchDb("lethe_bench_own", SCRATCH);
  const app = await createScratchDb("lethe_bench_app", SCRATCH);
  const mapPath = join(tmpdir(), `lethe-bench-map-${process.pid}.json`);
  writeFileSync(mapPath, JSON.stringify(DATA_MAP("BENCH_APP_URL")));
  const env = letheEnv(own.url, mapPath, { BENCH_APP_URL: app.url, LETHE_WORKER_CONCURRENCY: process.env.BENCH_CONCURRENCY ?? "16" });
  Object.assign(process.env, env);
  let worker: Awaited<ReturnType<typeof startWorkerProcess>> | undefined;
  let api: Awaited<ReturnType<typeof startApi>> | undefined;
  try {
    await migrate(own.url);
    const setup = new Client({ connectionString: app.url });
    await setup.connect();
    await setup.query(APP_SCHEMA + fillApp(SUBJECTS * 2));
    await setup.end();

    const baselinePerS = await baseline(
      app.url,
      Array.from({ length: SUBJECTS }, (_, i) => i + 1),
    );
    process.stderr.write(`baseline: ${baselinePerS.toFixed(0)} erasures/s\n`);

    worker = await startWorkerProcess(env, profileArgs());
    const config = loadConfig(env);
    api = await startApi(config, { logger: createLogger("warn"), handleSignals: false });
    const ids = Array.from({ length: SUBJECTS }, (_, i) => SUBJECTS + i + 1);
    const own$ = new Client({ connectionString: own.url });
    await own$.connect();

    const started = process.hrtime.bigint();
    let next = 0;
    const post = async (): Promise<void> => {
      while (next < ids.length) {
        const id = ids[next++]!;
        const res = await fetch(`${api!.url}/v1/requests`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: "Bearer bench-key-0000000000000001" },
          body: JSON.stringify({ type: "erasure", subject: { id: String(id) } }),
        });
        if (res.status !== 202) throw new Error(`POST /v1/requests answered ${res.status}`);
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, post));
    process.stderr.write(`enqueued ${ids.length} in ${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(2)} s\n`);
    for (;;) {
      const r = await own$.query<{ done: number; failed: number }>(
        `SELECT count(*) FILTER (WHERE status = 'completed')::int AS done, count(*) FILTER (WHERE status = 'failed')::int AS failed FROM lethe.subject_request`,
      );
      const { done, failed } = r.rows[0]!;
      if (failed > 0) throw new Error(`${failed} erasure(s) failed`);
      if (done >= ids.length) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    await own$.end();
    const check = new Client({ connectionString: app.url });
    await check.connect();
    const left = await check.query<{ n: number }>(`SELECT count(*)::int AS n FROM users WHERE id > $1`, [SUBJECTS]);
    await check.end();
    if (left.rows[0]!.n !== 0) throw new Error(`${left.rows[0]!.n} subjects were not erased`);
    const erasuresPerS = ids.length / seconds;
    process.stdout.write(
      `${JSON.stringify({
        subjects: ids.length,
        rows_per_subject: 20,
        seconds: Number(seconds.toFixed(3)),
        erasures_per_s: Math.round(erasuresPerS),
        baseline_per_s: Math.round(baselinePerS),
        ratio: Number((erasuresPerS / baselinePerS).toFixed(3)),
      })}\n`,
    );
  } finally {
    await api?.close();
    if (worker) {
      worker.kill("SIGTERM");
      await new Promise((resolve) => worker!.once("exit", resolve));
    }
    await deletePrefixKeys(REDIS_URL, env.LETHE_QUEUE_PREFIX!);
    await own.drop();
    await app.drop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:erasure failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
