/**
 * `npm run bench:export`: one subject with 1,000,000 rows in a related table (events), exported
 * end to end through Lethe (request → `lethe worker` child process → zip on disk → mail caught by
 * an in-process SMTP server → request completed), against a baseline in the same run that zips
 * the same rows with raw archiver, streaming from the same COPY queries (JSON and CSV per
 * table, same JSON framing, same zlib level). Last stdout line:
 * {"rows", "mb", "seconds", "baseline_seconds", "ratio", "peak_rss_mb"}; ratio = baseline / Lethe.
 */
import { createWriteStream, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Queue } from "bullmq";
import { ZipArchive } from "archiver";
import { Client } from "pg";
import { to as copyTo } from "pg-copy-streams";
import { SMTPServer } from "smtp-server";
import { loadConfig } from "../src/config";
import { parseDataMap } from "../src/datamap/load";
import { createDataSource } from "../src/db/data-source";
import { jsonLinesToArray } from "../src/stores/postgres/copy-out";
import { CSV_COPY, JSON_LINES_COPY } from "../src/stores/postgres/exporter";
import { createLogger } from "../src/logger";
import { createRedis } from "../src/queues/connection";
import { QUEUES } from "../src/queues/names";
import { submitRequest } from "../src/requests/service";
import { deletePrefixKeys } from "../support/queue-prefix";
import { createScratchDb } from "../support/scratch-db";
import { letheEnv, migrate, peakRssMb, runBench, SCRATCH, startWorkerProcess, stopWorker } from "./support";

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
/** Runs of each contender (alternating); the best of each counts. */
const RUNS = Number(process.env.BENCH_RUNS ?? 2);

const SCHEMA = `
CREATE TABLE customers (id serial PRIMARY KEY, email text NOT NULL UNIQUE, full_name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE orders (id serial PRIMARY KEY, customer_id integer NOT NULL REFERENCES customers(id), total_cents integer NOT NULL, note text);
CREATE TABLE events (id bigserial PRIMARY KEY, customer_id integer NOT NULL REFERENCES customers(id), kind text NOT NULL, payload text, at timestamptz NOT NULL DEFAULT now());
CREATE INDEX ON orders (customer_id);
CREATE INDEX ON events (customer_id);
INSERT INTO customers (email, full_name) SELECT 'customer' || g || '@shop.example', 'Customer ' || g FROM generate_series(1, 100) g;
INSERT INTO orders (customer_id, total_cents, note) SELECT c, 100 * o, 'order ' || o FROM generate_series(1, 100) c, generate_series(1, 20) o;
INSERT INTO events (customer_id, kind, payload, at)
  SELECT 1, 'page_view', 'path /products/' || g || '?ref=newsletter&campaign=spring', now() - g * interval '1 second' FROM generate_series(1, ${ROWS}) g;
INSERT INTO events (customer_id, kind, payload) SELECT c, 'login', 'from app' FROM generate_series(2, 100) c, generate_series(1, 10) e;
`;

const DATA_MAP = (urlVar: string) => ({
  version: 1,
  subject: { store: "shop", table: "customers", key: "id", identities: { email: "email" } },
  controller: { name: "Bench Shop", contact: "privacy@shop.example" },
  purposes: [{ name: "Running the shop" }],
  stores: {
    shop: {
      kind: "postgres",
      url: `\${${urlVar}}`,
      tables: {
        customers: {
          action: "anonymize",
          fields: { email: { category: "contact", mask: "email" }, full_name: { category: "identity", mask: "token" }, created_at: { personal: false } },
        },
        orders: { action: "keep", ground: "tax records", fields: { note: { category: "content", mask: "null" } } },
        events: { action: "delete", fields: { payload: { category: "online" } } },
      },
    },
  },
});

/** The baseline's tables and their row conditions (what the planner finds for customer 1). */
const BASELINE_TABLES: Array<{ table: string; where: string; columns: string[] }> = [
  { table: "customers", where: "t.id = (current_setting('bench.p')::jsonb ->> 0)::int", columns: ["id", "email", "full_name", "created_at"] },
  { table: "orders", where: "t.customer_id = (current_setting('bench.p')::jsonb ->> 0)::int", columns: ["id", "customer_id", "total_cents", "note"] },
  { table: "events", where: "t.customer_id = (current_setting('bench.p')::jsonb ->> 0)::int", columns: ["id", "customer_id", "kind", "payload", "at"] },
];

/**
 * The minimal hand-written export: the same COPY queries (JSON lines and CSV per table, the value
 * passed the same way), the same JSON framing, raw archiver to a file. No locating, hashing,
 * manifest, info sheet, fsync, queue or mail.
 */
async function baseline(url: string, file: string): Promise<number> {
  const started = process.hrtime.bigint();
  const c = new Client({ connectionString: url });
  await c.connect();
  await c.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  await c.query("SELECT set_config('bench.p', $1, true)", [JSON.stringify(["1"])]);
  const zip = new ZipArchive({ zlib: { level: 6 } });
  const out = pipeline(zip, createWriteStream(file));
  const add = (name: string, source: Readable) =>
    new Promise<void>((resolve, reject) => {
      const onEntry = (e: { name: string }) => {
        if (e.name === name) {
          zip.off("entry", onEntry);
          resolve();
        }
      };
      zip.on("entry", onEntry);
      zip.once("error", reject);
      source.once("error", reject);
      zip.append(source, { name });
    });
  for (const t of BASELINE_TABLES) {
    const from = `${t.table} AS t WHERE ${t.where}`;
    const json = c.query(copyTo(`COPY (SELECT row_to_json(t)::text FROM ${from}) TO STDOUT WITH (${JSON_LINES_COPY})`));
    await add(`data/shop/${t.table}.json`, Readable.from(jsonLinesToArray(json, { rows: 0 }), { objectMode: false }));
    await add(
      `data/shop/${t.table}.csv`,
      c.query(copyTo(`COPY (SELECT ${t.columns.map((col) => `t.${col}`).join(", ")} FROM ${from}) TO STDOUT WITH (${CSV_COPY})`)),
    );
  }
  await zip.finalize();
  await out;
  await c.query("COMMIT");
  await c.end();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

async function main(): Promise<void> {
  const own = await createScratchDb("lethe_bench_own", SCRATCH);
  const app = await createScratchDb("lethe_bench_app", SCRATCH);
  const dir = mkdtempSync(join(tmpdir(), "lethe-bench-export-"));
  const mapPath = join(dir, "lethe.config.json");
  writeFileSync(mapPath, JSON.stringify(DATA_MAP("BENCH_APP_URL")));
  let delivered = 0;
  const smtp = new SMTPServer({
    authOptional: true,
    hideSTARTTLS: true,
    disabledCommands: ["AUTH"],
    logger: false,
    closeTimeout: 100,
    onData(stream, _session, callback) {
      stream.on("data", () => undefined);
      stream.on("end", () => {
        delivered++;
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, "127.0.0.1", resolve));
  const smtpPort = (smtp.server.address() as { port: number }).port;
  const env = letheEnv(own.url, mapPath, {
    BENCH_APP_URL: app.url,
    SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    LETHE_EXPORT_DIR: join(dir, "exports"),
    LETHE_RECONCILE_EVERY_MS: "60000",
  });
  let worker: Awaited<ReturnType<typeof startWorkerProcess>> | undefined;
  const ds = createDataSource(own.url, { poolSize: 2 });
  const redis = createRedis(env.REDIS_URL!, "worker");
  const queues = {
    erasure: new Queue(QUEUES.erasure, { connection: redis, prefix: env.LETHE_QUEUE_PREFIX }),
    export: new Queue(QUEUES.export, { connection: redis, prefix: env.LETHE_QUEUE_PREFIX }),
  };
  try {
    await migrate(own.url);
    const setup = new Client({ connectionString: app.url });
    setup.on("error", () => undefined);
    await setup.connect();
    const fillStarted = Date.now();
    await setup.query(SCHEMA);
    await setup.query("VACUUM ANALYZE");
    // Warm the cache for both contenders.
    await setup.query(`SELECT count(*), sum(length(payload)) FROM events WHERE customer_id = 1`);
    await setup.end();
    process.stderr.write(`filled ${ROWS} rows in ${((Date.now() - fillStarted) / 1000).toFixed(1)} s\n`);

    Object.assign(process.env, env);
    worker = await startWorkerProcess(env);
    const config = loadConfig(env);
    await ds.initialize();
    const dataMap = parseDataMap(DATA_MAP("BENCH_APP_URL"), mapPath, env);
    const lethe = async (): Promise<{ seconds: number; rows: number; size: number }> => {
      const started = process.hrtime.bigint();
      const { request } = await submitRequest(
        { ds, config, dataMap, queues: { erasure: queues.erasure, export: queues.export }, logger: createLogger("warn") },
        { type: "export", subject: { id: "1" }, requestedBy: "bench" },
      );
      for (;;) {
        const rows = (await ds.query(`SELECT status, error_message FROM lethe.subject_request WHERE id = $1`, [request.id])) as Array<{
          status: string;
          error_message: string | null;
        }>;
        if (rows[0]!.status === "failed") throw new Error(`the export failed: ${rows[0]!.error_message}`);
        if (rows[0]!.status === "completed") break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const [exp] = (await ds.query(`SELECT rows::int AS rows, size_bytes::bigint AS size FROM lethe.export WHERE request_id = $1`, [request.id])) as Array<{
        rows: number;
        size: string;
      }>;
      return { seconds, rows: exp!.rows, size: Number(exp!.size) };
    };

    // Alternate the contenders, twice each; the best run of each counts (the machine may be shared).
    const baselineFile = join(dir, "baseline.zip");
    const baselineRuns: number[] = [];
    const letheRuns: Array<Awaited<ReturnType<typeof lethe>>> = [];
    for (let round = 0; round < RUNS; round++) {
      baselineRuns.push(await baseline(app.url, baselineFile));
      process.stderr.write(`baseline: ${baselineRuns.at(-1)!.toFixed(2)} s, ${(statSync(baselineFile).size / 1e6).toFixed(1)} MB\n`);
      letheRuns.push(await lethe());
      process.stderr.write(`lethe: ${letheRuns.at(-1)!.seconds.toFixed(2)} s, ${(letheRuns.at(-1)!.size / 1e6).toFixed(1)} MB\n`);
    }
    const peak = peakRssMb(worker.pid!);
    process.stderr.write(`worker peak RSS ${peak} MB\n`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    if (delivered !== RUNS) throw new Error(`expected ${RUNS} mails, the SMTP server got ${delivered}`);
    const baselineSeconds = Math.min(...baselineRuns);
    const seconds = Math.min(...letheRuns.map((r) => r.seconds));
    const exp = { rows: letheRuns[0]!.rows, size: String(letheRuns[0]!.size) };
    process.stdout.write(
      `${JSON.stringify({
        rows: exp.rows,
        mb: Number((Number(exp.size) / 1e6).toFixed(1)),
        seconds: Number(seconds.toFixed(3)),
        baseline_seconds: Number(baselineSeconds.toFixed(3)),
        ratio: Number((baselineSeconds / seconds).toFixed(3)),
        peak_rss_mb: peak,
      })}\n`,
    );
  } finally {
    await stopWorker(worker);
    for (const q of Object.values(queues)) {
      await q.obliterate({ force: true }).catch(() => undefined);
      await q.close();
    }
    await deletePrefixKeys(redis, env.LETHE_QUEUE_PREFIX!);
    await redis.quit();
    if (ds.isInitialized) await ds.destroy();
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
    await own.drop();
    await app.drop();
  }
}

runBench("export", main);
