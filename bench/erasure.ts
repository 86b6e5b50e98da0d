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
import { startApi } from "../src/http/start-api";
import { createLogger } from "../src/logger";
import { deleteRedisPrefix, letheEnv, migrate, profileArgs, scratchDb, startWorkerProcess } from "./support";

const SUBJECTS = Number(process.env.BENCH_SUBJECTS ?? 1000);
const IN_FLIGHT = 64;

const SCHEMA = `
CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL UNIQUE, full_name text NOT NULL, phone text, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE orders (id serial PRIMARY KEY, user_id integer REFERENCES users(id), total_cents integer NOT NULL, billing_name text NOT NULL, billing_email text NOT NULL, placed_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE order_items (id serial PRIMARY KEY, order_id integer NOT NULL REFERENCES orders(id), sku text NOT NULL, quantity integer NOT NULL);
CREATE TABLE comments (id serial PRIMARY KEY, user_id integer NOT NULL REFERENCES users(id), body text NOT NULL);
CREATE INDEX ON orders(user_id); CREATE INDEX ON order_items(order_id); CREATE INDEX ON comments(user_id);
`;

/** 1 user + 5 orders + 10 items + 4 comments = 20 rows per subject. */
const FILL = (n: number) => `
INSERT INTO users (email, full_name, phone) SELECT 'user' || g || '@example.com', 'User ' || g, '+49 ' || g FROM generate_series(1, ${n}) g;
INSERT INTO orders (user_id, total_cents, billing_name, billing_email) SELECT u, 100 * o, 'User ' || u, 'user' || u || '@example.com' FROM generate_series(1, ${n}) u, generate_series(1, 5) o;
INSERT INTO order_items (order_id, sku, quantity) SELECT o.id, 'SKU' || i, i FROM orders o, generate_series(1, 2) i;
INSERT INTO comments (user_id, body) SELECT u, 'comment ' || c || ' by user ' || u FROM generate_series(1, ${n}) u, generate_series(1, 4) c;
ANALYZE;
`;

const DATA_MAP = (urlVar: string) => ({
  version: 1,
  subject: { store: "app", table: "users", key: "id", identities: { email: "email" } },
  stores: {
    app: {
      kind: "postgres",
      url: `\${${urlVar}}`,
      tables: {
        users: { action: "delete", fields: { email: { category: "contact" }, full_name: { category: "identity" }, phone: { category: "contact" } } },
        orders: {
          action: "keep",
          ground: "tax records",
          fields: { billing_name: { category: "identity", mask: "token" }, billing_email: { category: "contact", mask: "email" } },
        },
        order_items: { action: "keep", ground: "tax records" },
        comments: { action: "delete", fields: { body: { category: "content" } } },
      },
    },
  },
});

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
  const own = await scratchDb("lethe_bench_own");
  const app = await scratchDb("lethe_bench_app");
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
    await setup.query(SCHEMA + FILL(SUBJECTS * 2));
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
    await deleteRedisPrefix(env.LETHE_QUEUE_PREFIX!);
    await own.drop();
    await app.drop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:erasure failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
