/**
 * `npm run bench:console`: BENCH_REQUESTS requests (10,000 by default: every type, a status mix,
 * received over the last 60 days, previews among them, stores per erasure) in a scratch Lethe
 * database; the API in process on a free port; then, over real HTTP with a console session, every
 * page of the console's request list (all requests, 50 a page, by days left) and the filtered
 * lists (overdue, due soon, failed, open, exports), and the same through `GET /v1/requests`.
 * Target: the console list's p95 page time ≤ 500 ms.
 * Last stdout line: {"requests","pages","p50_ms","p95_ms","max_ms","api_p95_ms","target_ms","ok"}.
 */
import { Queue } from "bullmq";
import { loadConfig } from "../src/config";
import { parseDataMap } from "../src/datamap/load";
import { createDataSource } from "../src/db/data-source";
import { buildServer } from "../src/http/server";
import { createLogger } from "../src/logger";
import { createRedis } from "../src/queues/connection";
import { QUEUES } from "../src/queues/names";
import { deletePrefixKeys, newQueuePrefix } from "../support/queue-prefix";
import { createScratchDb } from "../support/scratch-db";
import { migrate, REDIS_URL, runBench, SCRATCH } from "./support";
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 10_000);
const TARGET_MS = 500;
const KEY = "bench-console-key-000000000001";

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

async function main(): Promise<void> {
  const db = await createScratchDb("bench_console", SCRATCH);
  const prefix = newQueuePrefix("benchc");
  const config = loadConfig({
    DATABASE_URL: db.url,
    REDIS_URL,
    LETHE_ENCRYPTION_KEY: randomBytes(32).toString("hex"),
    LETHE_HMAC_KEY: randomBytes(32).toString("hex"),
    LETHE_API_KEYS: `viewer:${KEY}:console.read`,
    LETHE_QUEUE_PREFIX: prefix,
    LOG_LEVEL: "warn",
  });
  const dataMap = parseDataMap({
    version: 1,
    subject: { store: "shop", table: "customers", key: "id", identities: { email: "email" } },
    stores: {
      shop: { kind: "postgres", url: "postgres://unused", tables: { customers: { action: "delete", fields: {} } } },
      cache: { kind: "redis", url: "redis://unused", keys: [{ pattern: "session:{id}" }] },
    },
  });
  await migrate(db.url);
  const ds = createDataSource(db.url, { poolSize: 10 });
  await ds.initialize();
  const redis = createRedis(config.redisUrl, "producer");
  const queues = {
    erasure: new Queue(QUEUES.erasure, { connection: redis, prefix }),
    maintenance: new Queue(QUEUES.maintenance, { connection: redis, prefix }),
  };
  try {
    const seedStart = Date.now();
    await ds.query(
      `INSERT INTO lethe.subject_request (type, status, dry_run, received_at, due_at, subject_hash, requested_by, error_code, result, completed_at)
       SELECT t.type, s.status, (i % 20 = 0), r.received_at, r.received_at + interval '1 month', md5(i::text), 'bench',
              CASE WHEN s.status = 'failed' THEN 'store_unavailable' END,
              CASE WHEN s.status = 'completed' THEN jsonb_build_object('steps', '[]'::jsonb, 'subjectFound', i % 7 <> 0) END,
              CASE WHEN s.status IN ('completed', 'refused') THEN r.received_at + interval '3 days' END
         FROM generate_series(1, $1) AS i
         CROSS JOIN LATERAL (SELECT now() - (random() * 60) * interval '1 day' AS received_at) r
         CROSS JOIN LATERAL (SELECT (ARRAY['erasure','erasure','erasure','export','export','rectification','restriction','objection','consent-withdrawal'])[1 + i % 9] AS type) t
         CROSS JOIN LATERAL (SELECT (ARRAY['queued','queued','queued','queued','running','running','held','failed','completed','completed','completed','completed','refused'])[1 + (i * 7) % 13] AS status) s`,
      [REQUESTS],
    );
    await ds.query(
      `INSERT INTO lethe.request_store (request_id, store, status, error_code)
       SELECT r.id, st.store, CASE WHEN r.status = 'completed' THEN 'done' WHEN r.status = 'failed' AND st.store = 'cache' THEN 'failed' ELSE 'done' END,
              CASE WHEN r.status = 'failed' AND st.store = 'cache' THEN 'store_unavailable' END
         FROM lethe.subject_request r CROSS JOIN (VALUES ('shop'), ('cache')) AS st(store)
        WHERE r.type = 'erasure' AND r.status IN ('running', 'failed', 'completed')`,
    );
    await ds.query(`ANALYZE lethe.subject_request; ANALYZE lethe.request_store`);
    const seedMs = Date.now() - seedStart;

    const app = await buildServer({ ds, config, dataMap, queues, redis, logger: createLogger("warn") });
    await app.listen({ port: 0, host: "127.0.0.1" });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const login = await fetch(`${base}/admin/login`, { method: "POST", body: new URLSearchParams({ key: KEY }), redirect: "manual" });
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0]!;
    if (!cookie.startsWith("lethe_console=")) throw new Error(`login failed: ${login.status}`);

    const timed = async (url: string, headers: Record<string, string>): Promise<{ ms: number; body: string }> => {
      const t0 = performance.now();
      const res = await fetch(url, { headers });
      const body = await res.text();
      const ms = performance.now() - t0;
      if (res.status !== 200) throw new Error(`${url}: ${res.status} ${body.slice(0, 200)}`);
      return { ms, body };
    };
    // Warm-up: one page of each kind.
    await timed(`${base}/admin/requests?state=all`, { cookie });
    await timed(`${base}/v1/requests?state=all`, { authorization: `Bearer ${KEY}` });

    const pageMs: number[] = [];
    let cursor: string | null = null;
    let walked = 0;
    do {
      const q = new URLSearchParams({ state: "all", ...(cursor ? { cursor } : {}) });
      const { ms, body } = await timed(`${base}/admin/requests?${q.toString()}`, { cookie });
      pageMs.push(ms);
      walked += [...body.matchAll(/<tr data-request="/g)].length;
      const next = /href="\/admin\/requests\?[^"]*cursor=([^"&]+)[^"]*" rel="next"/.exec(body);
      cursor = next ? decodeURIComponent(next[1]!.replace(/&amp;/g, "&")) : null;
    } while (cursor);
    for (const filter of ["band=overdue", "band=due_soon", "status=failed", "state=open", "type=export", "status=extended", "dryRun=true"]) {
      for (let i = 0; i < 5; i++) pageMs.push((await timed(`${base}/admin/requests?${filter}`, { cookie })).ms);
    }
    const apiMs: number[] = [];
    cursor = null;
    do {
      const q = new URLSearchParams({ state: "all", limit: "50", ...(cursor ? { cursor } : {}) });
      const { ms, body } = await timed(`${base}/v1/requests?${q.toString()}`, { authorization: `Bearer ${KEY}` });
      apiMs.push(ms);
      cursor = (JSON.parse(body) as { nextCursor: string | null }).nextCursor;
    } while (cursor);
    await app.close();

    const sorted = [...pageMs].sort((a, b) => a - b);
    const apiSorted = [...apiMs].sort((a, b) => a - b);
    const realRequests = REQUESTS - Math.floor(REQUESTS / 20);
    const p95 = percentile(sorted, 95);
    process.stderr.write(`seeded ${REQUESTS} requests in ${seedMs} ms; walked ${walked} rows over ${pageMs.length} page loads\n`);
    if (walked !== realRequests) throw new Error(`the pages listed ${walked} requests, expected ${realRequests}`);
    console.log(
      JSON.stringify({
        requests: REQUESTS,
        pages: pageMs.length,
        p50_ms: Math.round(percentile(sorted, 50)),
        p95_ms: Math.round(p95),
        max_ms: Math.round(sorted[sorted.length - 1] ?? 0),
        api_p95_ms: Math.round(percentile(apiSorted, 95)),
        target_ms: TARGET_MS,
        ok: p95 <= TARGET_MS,
      }),
    );
  } finally {
    for (const q of Object.values(queues)) await q.close();
    await deletePrefixKeys(redis, prefix);
    await redis.quit();
    await ds.destroy();
    await db.drop();
  }
}

runBench("console", main);
