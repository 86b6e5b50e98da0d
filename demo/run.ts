import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import pino from "pino";
import { loadConfig } from "../src/config";
import { assertDataMapReady } from "../src/datamap/check";
import { loadDataMap } from "../src/datamap/load";
import { createDataSource } from "../src/db/data-source";
import { startApi } from "../workers/api";
import { createLogger } from "../src/logger";
import { verifyReceipt, type SignedReceipt } from "../src/receipts/receipt";
import type { RequestView } from "../src/requests/view";
import { startWorker } from "../workers/worker";
import { freePort } from "../support/free-port";
import { deletePrefixKeys, newQueuePrefix, pingRedis } from "../support/queue-prefix";
import { createScratchDb, type ScratchDb } from "../support/scratch-db";
import { DemoApi } from "./api-client";
import type { DemoContext, DemoSection } from "./context";
import { countMentions, findCustomerRowIds, readCustomerRows, type CustomerRowIds, type CustomerRows } from "./customer-rows";
import { Printer, truncate } from "./print";
import { TearDownList } from "./tear-down-list";
import { runBreachDemo } from "./breach-demo";
import { runExportDemo } from "./export-demo";
import { runRightsDemo } from "./rights-demo";
import { runSweepDemo } from "./sweep";
import { seedShop } from "./seed";

/**
 * `npm run demo`: Lethe end to end on a synthetic web shop, in one process. Creates two scratch
 * databases (the shop, Lethe's own), seeds the shop, starts the API and a worker, erases one
 * customer through the HTTP API (preview first, then for real) and shows the rows before and
 * after; then drops everything it created. Needs Postgres and Redis (LETHE_DEMO_PG_URL,
 * LETHE_DEMO_REDIS_URL; defaults: the local ones). LETHE_DEMO_LOG_LEVEL=info shows Lethe's logs (stderr).
 */

/** Postgres server of the scratch databases (only its host, port and user are used). */
const PG_SERVER = process.env.LETHE_DEMO_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const REDIS_URL = process.env.LETHE_DEMO_REDIS_URL ?? "redis://127.0.0.1:6379";
const LOG_LEVEL = process.env.LETHE_DEMO_LOG_LEVEL ?? "warn";
const DATA_MAP_PATH = join(__dirname, "lethe.config.json");
/** Customers seeded into the shop. */
const SHOP_CUSTOMERS = 500;
const HOST = "127.0.0.1";
/** How long the demo waits for one request to finish. */
const REQUEST_TIMEOUT_MS = 15_000;

// ───────────────────────────────────────────────────────────────────────────────────────────────
// Additional demo sections plug in here. Each runs after the erasure section, in this order, with
// the shared DemoContext (API URL and keys, shop URL, config, data map, Lethe's DataSource, …);
// see demo/context.ts. Example: { name: "retention", run: (ctx) => runSweepDemo(ctx) }.
// ───────────────────────────────────────────────────────────────────────────────────────────────
const DEMO_SECTIONS: DemoSection[] = [
  {
    name: "retention",
    run: async (ctx) => {
      await runSweepDemo({ config: ctx.config, dataMap: ctx.dataMap, ds: ctx.ds, shopUrl: ctx.shopUrl, out: ctx.out });
    },
  },
  { name: "export", run: (ctx) => runExportDemo(ctx) },
  { name: "breach", run: (ctx) => runBreachDemo(ctx) },
  { name: "rights", run: (ctx) => runRightsDemo(ctx) },
];

const tearDownList = new TearDownList();
const print = new Printer(process.stdout);

/** Creates the scratch databases, seeds the shop, migrates Lethe, starts the API and a worker. */
async function setUp(): Promise<DemoContext> {
  print.section("Setting up");
  await pingRedis(REDIS_URL, "LETHE_DEMO_REDIS_URL");

  const scratch = async (stem: string): Promise<ScratchDb> => {
    const db = await createScratchDb(stem, { serverUrl: PG_SERVER, serverVar: "LETHE_DEMO_PG_URL" });
    tearDownList.add(`drop database ${db.name}`, async () => {
      await db.drop();
      return `dropped database ${db.name}`;
    });
    return db;
  };
  const { name: shopDb, url: shopUrl } = await scratch("lethe_demo_shop");
  const { name: letheDb, url: letheUrl } = await scratch("lethe_demo_own");
  const seed = await seedShop(shopUrl, { customers: SHOP_CUSTOMERS });

  const ds = createDataSource(letheUrl, { poolSize: 2 });
  await ds.initialize();
  tearDownList.add("close the demo's connections to Lethe's database", async () => {
    await ds.destroy();
    return "closed the demo's connections to Lethe's database";
  });
  const migrations = await ds.runMigrations({ transaction: "each" });

  const exportDir = await mkdtemp(join(tmpdir(), "lethe-demo-exports-"));
  tearDownList.add(`remove ${exportDir}`, async () => {
    await rm(exportDir, { recursive: true, force: true });
    return "removed the export directory";
  });
  const apiKey = `demo-${randomBytes(24).toString("hex")}`;
  const adminKey = `demo-admin-${randomBytes(24).toString("hex")}`;
  const queuePrefix = newQueuePrefix("lethe_demo_");
  const port = await freePort(HOST);
  const env: NodeJS.ProcessEnv = {
    DATABASE_URL: letheUrl,
    REDIS_URL,
    LETHE_DATA_MAP: DATA_MAP_PATH,
    LETHE_ENCRYPTION_KEY: randomBytes(32).toString("hex"),
    LETHE_HMAC_KEY: randomBytes(32).toString("hex"),
    LETHE_API_KEYS: `demo:${apiKey}:requests.write|requests.read;demo-admin:${adminKey}:admin`,
    LETHE_QUEUE_PREFIX: queuePrefix,
    HOST,
    PORT: String(port),
    LETHE_PUBLIC_URL: `http://${HOST}:${port}`,
    LETHE_EXPORT_DIR: exportDir,
    // The export section's SMTP catcher listens here (demo/export-demo.ts).
    SMTP_URL: `smtp://${HOST}:${await freePort(HOST)}`,
    LETHE_MAIL_FROM: "Demo Shop <privacy@shop.example>",
    LETHE_SHUTDOWN_TIMEOUT_MS: "3000",
    LETHE_BACKOFF_MS: "200",
    LOG_LEVEL,
    SHOP_DATABASE_URL: shopUrl,
  };
  const config = loadConfig(env);
  const dataMap = loadDataMap(DATA_MAP_PATH, env);
  await assertDataMapReady(dataMap, DATA_MAP_PATH);

  // Registered before the worker and the API start, so it runs after they have closed.
  tearDownList.add(
    `delete Redis keys ${queuePrefix}:*`,
    async () => `deleted ${await deletePrefixKeys(REDIS_URL, queuePrefix)} Redis keys under ${queuePrefix}:`,
  );
  const logger = createLogger(LOG_LEVEL, pino.destination({ dest: 2, sync: true }));
  const worker = await startWorker(config, { logger, dataMap });
  tearDownList.add("close the worker", async () => {
    await worker.close();
    return "closed the worker";
  });
  const api = await startApi(config, { logger, dataMap, handleSignals: false });
  tearDownList.add("close the API", async () => {
    await api.close();
    return "closed the API";
  });

  print.keyValues([
    ["shop database", `${shopDb}: ${seed.customers} synthetic customers, ${seed.orders} orders (${seed.orderItems} items), ${seed.reviews} reviews,`],
    ["", `${seed.supportTickets} support tickets, ${seed.addresses} addresses (${seed.householdCustomers} customers share one with their household)`],
    ["Lethe database", `${letheDb}: ${migrations.length} migrations applied`],
    ["data map", `demo/lethe.config.json, checked against the live shop schema: ready`],
    ["API", `${api.url} (key "demo": requests.write, requests.read; key "demo-admin": admin)`],
    ["worker", `in-process, every queue, prefix ${queuePrefix}`],
  ]);

  return {
    apiUrl: api.url,
    apiKey,
    adminKey,
    api: new DemoApi(api.url, apiKey),
    adminApi: new DemoApi(api.url, adminKey),
    shopUrl,
    letheUrl,
    config,
    dataMap,
    ds,
    seed,
    out: process.stdout,
    print,
    onTearDown: (name, fn) => tearDownList.add(name, fn),
  };
}

const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? "" : "s"}`;

/** Runs `fn` with a connection to the shop's database. */
async function withShop<T>(shopUrl: string, fn: (db: Client) => Promise<T>): Promise<T> {
  const db = new Client({ connectionString: shopUrl });
  await db.connect();
  try {
    return await fn(db);
  } finally {
    await db.end();
  }
}

/** Prints one customer's rows in every table. */
function printRows(rows: CustomerRows, ids: CustomerRowIds): void {
  print.heading(`customers (id ${ids.customerId})`);
  if (rows.customer) print.keyValues(Object.entries(rows.customer));
  else print.line("(no row)", 4);
  print.heading(`addresses (id ${ids.addressId ?? "none"})`);
  if (rows.address) {
    print.keyValues(Object.entries(rows.address));
    print.line(`(used by ${rows.addressOtherUsers} other customers or warehouses)`, 4);
  } else print.line("(no row)", 4);
  print.heading(`orders (${plural(ids.orderIds.length, "row")}, looked up by id) and their order_items`);
  print.table(
    [
      "id",
      "customer_id",
      "placed_at",
      { header: "total", right: true },
      "billing_name",
      "billing_email",
      "billing_address",
      "billing_ip",
      { header: "items", right: true },
    ],
    rows.orders.map((o) => [
      o.id,
      o.customer_id,
      (o.placed_at as Date).toISOString().slice(0, 10),
      ((o.total_cents as number) / 100).toFixed(2),
      o.billing_name,
      o.billing_email,
      o.billing_address,
      o.billing_ip,
      o.items,
    ]),
  );
  print.line(`order_items of these orders: ${rows.orderItems}`, 4);
  print.heading(`reviews (${plural(ids.reviewIds.length, "row")}, by id)`);
  print.table(
    ["id", "customer_id", "product_sku", "rating", "body", "created_at"],
    rows.reviews.map((r) => [r.id, r.customer_id, r.product_sku, r.rating, r.body, r.created_at]),
  );
  print.heading(`support_tickets (${plural(ids.ticketIds.length, "row")}, by id; linked to the customer by customer_email, no foreign key)`);
  print.table(
    ["id", "customer_email", "subject", "body", "opened_at"],
    rows.tickets.map((t) => [t.id, t.customer_email, t.subject, t.body, t.opened_at]),
  );
}

/** Picks the demo's customer and prints their rows as they are; returns which rows they are. */
async function showBefore(ctx: DemoContext): Promise<{ ids: CustomerRowIds; rows: CustomerRows }> {
  const customerId = ctx.seed.examples.fullCustomerId;
  if (customerId === null) throw new Error("the seeded shop has no customer with an own address, orders, reviews and tickets");
  const { ids, rows } = await withShop(ctx.shopUrl, async (db) => {
    const found = await findCustomerRowIds(db, customerId);
    return { ids: found, rows: await readCustomerRows(db, found) };
  });
  print.section(`Before: customer ${customerId} in the shop's database (synthetic data)`);
  printRows(rows, ids);
  return { ids, rows };
}

/** Prints a request's steps as a plan: one line per table, a column per action. */
function printPlan(view: RequestView): void {
  const actions = ["delete", "anonymize", "keep", "shared", "notified"] as const;
  const shown = actions.filter((a) => a !== "notified" || view.steps.some((s) => s.action === a));
  const tables = [...new Set(view.steps.map((s) => `${s.store}.${s.table}`))];
  const rows = tables.map((t) => {
    const steps = view.steps.filter((s) => `${s.store}.${s.table}` === t);
    const count = (a: string) => steps.filter((s) => s.action === a).reduce((sum, s) => sum + s.rows, 0) || ".";
    return [t, ...shown.map(count), steps.find((s) => s.ground)?.ground ?? ""];
  });
  print.table(["table", ...shown.map((a) => ({ header: a, right: true })), "ground (keep)"], rows, { maxCell: 72 });
}

/** Waits for a request through the API; fails unless it completed. */
async function waitUntilCompleted(ctx: DemoContext, id: string): Promise<RequestView> {
  const view = await ctx.api.waitForRequest(id, REQUEST_TIMEOUT_MS);
  if (view.status !== "completed") {
    throw new Error(`request ${view.id} ended ${view.status}${view.error ? `: ${view.error.code}: ${view.error.message}` : ""}`);
  }
  return view;
}

/** Submits an erasure preview (dry run) and waits for its plan. */
async function submitPreview(ctx: DemoContext, subject: Record<string, string>): Promise<RequestView> {
  return waitUntilCompleted(ctx, (await ctx.api.submit({ type: "erasure", subject, dryRun: true })).id);
}

/** Dry runs through the API: the customer's plan, and a household customer whose address is shared. */
async function preview(ctx: DemoContext, before: { ids: CustomerRowIds; rows: CustomerRows }): Promise<void> {
  const id = String(before.ids.customerId);
  print.section(`Preview: POST /v1/requests {"type":"erasure","subject":{"id":"${id}"},"dryRun":true}`);
  const view = await submitPreview(ctx, { id });
  print.line(`request ${view.id}: ${view.status}, dry run; the plan as counts:`, 2);
  print.line();
  printPlan(view);
  const now = await withShop(ctx.shopUrl, (db) => readCustomerRows(db, before.ids));
  if (JSON.stringify(now) !== JSON.stringify(before.rows)) throw new Error("the preview changed the shop's rows");
  print.line();
  print.line("nothing changed: the customer's rows are exactly as before", 2);

  const household = ctx.seed.examples.householdCustomerId;
  if (household === null) return;
  const sharers = await withShop(ctx.shopUrl, async (db) => {
    const res = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM public.customers WHERE address_id = (SELECT address_id FROM public.customers WHERE id = $1) AND id <> $1",
      [household],
    );
    return res.rows[0]?.n ?? 0;
  });
  print.heading(`A household: customer ${household} shares an address with ${plural(sharers, "other customer")}. Their preview:`);
  const householdView = await submitPreview(ctx, { id: String(household) });
  print.line();
  printPlan(householdView);
  const shared = householdView.steps.find((s) => s.table === "addresses" && s.action === "shared");
  if (!shared) throw new Error(`the household preview did not report customer ${household}'s address as shared`);
  print.line();
  print.line(`the address is reported as shared (${shared.rows}): an erasure would leave it in place for the others`, 2);
}

/** The real erasure through the API, with an Idempotency-Key (sent twice), then its receipt. */
async function erase(ctx: DemoContext, ids: CustomerRowIds): Promise<RequestView> {
  const id = String(ids.customerId);
  const key = `demo-erasure-${randomUUID()}`;
  print.section(`Erasure: POST /v1/requests {"type":"erasure","subject":{"id":"${id}"}}, Idempotency-Key: ${key}`);
  const started = Date.now();
  const first = await ctx.api.submit({ type: "erasure", subject: { id } }, key);
  const again = await ctx.api.submit({ type: "erasure", subject: { id } }, key);
  if (again.id !== first.id || !again.isReplay) throw new Error("the same Idempotency-Key created a second request");
  print.line(`202 Accepted: request ${first.id}, ${first.status}, due ${first.dueAt.slice(0, 10)} (Art. 12(3): one month)`, 2);
  print.line(`sent again with the same key: 202, idempotent-replayed: true, the same request ${again.id}`, 2);
  const view = await waitUntilCompleted(ctx, first.id);
  print.line(`${view.status} after ${Date.now() - started} ms`, 2);

  const receipt = (await ctx.api.call<SignedReceipt>("GET", `/v1/requests/${view.id}/receipt`)).data;
  const { publicKeyPem } = (await ctx.api.call<{ publicKeyPem: string }>("GET", "/v1/receipts/public-key")).data;
  printReceipt(receipt, publicKeyPem);
  const audit = await ctx.ds.query<Array<{ event: string; subject_hash: string | null }>>(
    "SELECT event, subject_hash FROM lethe.audit_log WHERE request_id = $1 ORDER BY id",
    [view.id],
  );
  print.line();
  print.line(
    `audit log: ${audit.map((a) => a.event).join(", ")}; the subject is named only by a keyed hash (${(audit.at(-1)?.subject_hash ?? "").slice(0, 16)}…)`,
    2,
  );
  return view;
}

/** The same rows after the erasure, and checks that each table ended as the data map says. */
async function showAfter(ctx: DemoContext, before: { ids: CustomerRowIds; rows: CustomerRows }): Promise<void> {
  const { ids } = before;
  const { rows, mentions } = await withShop(ctx.shopUrl, async (db) => ({
    rows: await readCustomerRows(db, ids),
    mentions: await countMentions(db, ids.email),
  }));
  print.section(`After: the same rows, looked up by their ids`);
  printRows(rows, ids);

  const changed = (field: string) => rows.orders.every((o, i) => o[field] !== before.rows.orders[i]?.[field]);
  const mentioned = Object.entries(mentions).filter(([, n]) => n > 0);
  const checks: Array<[boolean, string]> = [
    [rows.customer === null, `customer ${ids.customerId}: deleted`],
    [rows.address === null, `address ${ids.addressId}: deleted (nobody else used it)`],
    [
      rows.orders.length === ids.orderIds.length && rows.orders.every((o) => o.customer_id === null),
      `${plural(rows.orders.length, "order")}: kept (tax records), customer_id set to NULL`,
    ],
    [
      changed("billing_name") && changed("billing_email") && changed("billing_address") && rows.orders.every((o) => o.billing_ip === null),
      "  their billing name, email and address masked, billing_ip NULL",
    ],
    [rows.orderItems === before.rows.orderItems, `${plural(rows.orderItems, "order item")}: kept as they were`],
    [rows.reviews.length === 0, `${plural(ids.reviewIds.length, "review")}: deleted`],
    [rows.tickets.length === 0, `${plural(ids.ticketIds.length, "support ticket")}: deleted`],
    [mentioned.length === 0, `the customer's email appears nowhere in the shop (${Object.keys(mentions).length} tables searched)`],
  ];
  print.heading("Checks");
  for (const [ok, text] of checks) print.line(`${ok ? "ok  " : "FAIL"}  ${text}`, 4);
  const failed = checks.filter(([ok]) => !ok).map(([, text]) => text.trim());
  if (mentioned.length > 0) failed.push(`the email is still in: ${mentioned.map(([t, n]) => `${t} (${n})`).join(", ")}`);
  if (failed.length > 0) throw new Error(`the erasure left the shop in the wrong state:\n  ${failed.join("\n  ")}`);
}

/** Prints a signed receipt and checks its signature with the API's public key (and that a changed copy fails). */
function printReceipt(signed: SignedReceipt, publicKeyPem: string): void {
  const r = signed.receipt;
  print.heading(`Signed receipt: GET /v1/requests/${r.requestId}/receipt`);
  print.keyValues([
    ["request", `${r.requestId} (${r.type}, ${r.status}${r.dryRun ? ", dry run" : ""})`],
    ["received", r.receivedAt],
    ["completed", r.completedAt],
    ["verified", r.verified ? "yes: the worker looked for the subject again in every store and found nothing left" : "NO"],
  ]);
  for (const store of r.stores) {
    print.line(`store ${store.store} (${store.kind}):`, 4);
    print.table(
      ["table", "action", { header: "rows", right: true }, "ground"],
      store.steps.map((s) => [s.table, s.action, s.rows, s.ground ?? ""]),
      { indent: 6, maxCell: 72 },
    );
  }
  const isValid = verifyReceipt(signed, publicKeyPem);
  const forged = structuredClone(signed);
  const firstStep = forged.receipt.stores[0]?.steps[0];
  if (firstStep) firstStep.rows += 1;
  const isForgedValid = verifyReceipt(forged, publicKeyPem);
  print.keyValues([
    ["signature", `${signed.signature.alg}, key ${signed.signature.keyId}: ${truncate(signed.signature.value, 24)}`],
    [
      "check",
      `with the key from GET /v1/receipts/public-key: ${isValid ? "valid" : "INVALID"}; the same receipt with one count changed: ${isForgedValid ? "valid (!)" : "invalid"}`,
    ],
  ]);
  if (!isValid || isForgedValid) throw new Error("the receipt's signature does not check out");
  if (!r.verified) throw new Error("the receipt says the erasure was not verified");
}

let tearingDown: Promise<boolean> | undefined;

/** Closes the API, the worker and connections, deletes the Redis keys, drops the scratch databases. Once; true when all went well. */
function tearDown(): Promise<boolean> {
  tearingDown ??= (async () => {
    const { done, failed } = await tearDownList.run();
    print.section("Cleaning up");
    for (const line of done) print.line(line, 2);
    if (done.length + failed.length === 0) print.line("nothing to clean up", 2);
    for (const line of failed) process.stderr.write(`  cleanup failed: ${line}\n`);
    return failed.length === 0;
  })();
  return tearingDown;
}

/** The error and its causes, one line each, without stack traces. */
function describe(err: unknown): string {
  const lines: string[] = [];
  for (let e: unknown = err; e !== undefined && lines.length < 5; e = e instanceof Error ? e.cause : undefined) {
    lines.push(e instanceof Error ? `${e.name === "Error" ? "" : `${e.name}: `}${e.message}` : JSON.stringify(e));
  }
  return lines.join("\n  caused by: ");
}

/** A signal this soon after the first is the same Ctrl-C delivered twice (npm and tsx relay it too). */
const SIGNAL_ECHO_MS = 2000;
let interruptedAt: number | undefined;

/** Thrown between steps once a signal came, so the flow stops while tear-down runs. */
class InterruptedError extends Error {
  override readonly name = "InterruptedError";
}

/** First Ctrl-C: stop, tear down, exit 130. A second one (after the echo window): exit at once. */
function onSignal(signal: NodeJS.Signals): void {
  if (interruptedAt !== undefined) {
    if (Date.now() - interruptedAt < SIGNAL_ECHO_MS) return;
    const left = tearDownList.pending();
    process.stderr.write(`\n${signal} again: exiting at once${left.length > 0 ? `; not done: ${left.join("; ")}` : ""}\n`);
    process.exit(130);
  }
  interruptedAt = Date.now();
  if (tearingDown) return; // the demo is already cleaning up and exits when done
  process.stderr.write(`\n${signal}: stopping and cleaning up (press Ctrl-C again to exit at once)\n`);
  tearDown().then(
    (isClean) => process.exit(isClean ? 130 : 1),
    () => process.exit(1),
  );
}

/** Runs one step of the flow unless a signal came. */
async function step<T>(fn: () => Promise<T>): Promise<T> {
  if (interruptedAt !== undefined) throw new InterruptedError("interrupted");
  return fn();
}

async function main(): Promise<number> {
  const started = Date.now();
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  print.line("Lethe demo: one customer's erasure, end to end, on a synthetic web shop");
  let ok = false;
  try {
    const ctx = await step(setUp);
    const before = await step(() => showBefore(ctx));
    await step(() => preview(ctx, before));
    await step(() => erase(ctx, before.ids));
    await step(() => showAfter(ctx, before));
    for (const section of DEMO_SECTIONS) {
      try {
        await step(() => section.run(ctx));
      } catch (err) {
        if (err instanceof InterruptedError) throw err;
        throw new Error(`demo section "${section.name}" failed`, { cause: err });
      }
    }
    ok = true;
  } catch (err) {
    if (interruptedAt === undefined) process.stderr.write(`\ndemo failed: ${describe(err)}\n`);
  }
  if (interruptedAt !== undefined) return new Promise<number>(() => undefined); // onSignal tears down and exits
  const isClean = await tearDown();
  print.line();
  print.line(ok && isClean ? `demo finished in ${((Date.now() - started) / 1000).toFixed(1)} s` : "demo failed (see above)");
  return ok && isClean ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`demo failed: ${describe(err)}\n`);
    process.exit(1);
  },
);
