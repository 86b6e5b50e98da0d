/**
 * `npm run bench:breach`: a generated application (BENCH_SUBJECTS customers, 100,000 by default,
 * each with BENCH_ORDERS orders — 10 by default, so a million breached rows), an incident whose
 * scope is "every order placed in the window" (all of them); Lethe resolves the scope (the dry run:
 * people, records, categories, countries), freezes it (a worker job), and sends every notice
 * through a worker child process to a local SMTP sink (its own process); then raw pooled
 * nodemailer (the same pool size) sends the same number of messages to the same sink.
 * Last stdout line:
 * {"subjects","resolve_s","freeze_s","mails_per_s","baseline_mails_per_s","ratio","duplicates","peak_rss_mb"}.
 */
import { fork, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { createTransport } from "nodemailer";
import { loadConfig } from "../src/config";
import { loadDataMap } from "../src/datamap/load";
import { createDataSource } from "../src/db/data-source";
import { createLogger } from "../src/logger";
import { SMTP_POOL_SIZE } from "../src/mail/transport";
import { assessIncident, decideIncident } from "../src/incidents/assess";
import { fanoutProgress, notifySubjects } from "../src/incidents/fanout";
import { prepareIncidentNotice } from "../src/incidents/notices";
import { createIncident, requireIncident } from "../src/incidents/register";
import { dryRunScope, getScopeView, requestFreeze } from "../src/incidents/scopes";
import { NOTIFICATION_ID_HEADER } from "../src/incidents/send-notice";
import { openServices } from "../src/services";
import { freePort } from "../support/free-port";
import { deletePrefixKeys } from "../support/queue-prefix";
import { createScratchDb } from "../support/scratch-db";
import { letheEnv, migrate, peakRssMb, profileArgs, SCRATCH, startWorkerProcess } from "./support";

const SUBJECTS = Number(process.env.BENCH_SUBJECTS ?? 100_000);
const ORDERS = Number(process.env.BENCH_ORDERS ?? 10);
const MAIL_CONCURRENCY = process.env.BENCH_MAIL_CONCURRENCY ?? "16";

const APP = `
CREATE TABLE customers (id serial PRIMARY KEY, email text NOT NULL UNIQUE, full_name text NOT NULL, preferred_language text, country text);
CREATE TABLE orders (id serial PRIMARY KEY, customer_id integer REFERENCES customers(id), placed_at timestamptz NOT NULL, shipping_name text NOT NULL, card_last4 text);
CREATE TABLE support_tickets (id serial PRIMARY KEY, customer_email text NOT NULL, body text NOT NULL);
INSERT INTO customers (email, full_name, preferred_language, country)
  SELECT 'person' || g || '@example.test', 'Person ' || g, (ARRAY['de','en','fr',NULL])[1 + g % 4], (ARRAY['DE','AT','FR','NL'])[1 + g % 4] FROM generate_series(1, ${SUBJECTS}) g;
INSERT INTO orders (customer_id, placed_at, shipping_name, card_last4)
  SELECT c, timestamptz '2025-02-01' + make_interval(mins => (c * ${ORDERS} + o) % 40000), 'Person ' || c, CASE WHEN o % 2 = 0 THEN '4242' END
    FROM generate_series(1, ${SUBJECTS}) c, generate_series(1, ${ORDERS}) o;
INSERT INTO support_tickets (customer_email, body) SELECT 'person' || g || '@example.test', 'help' FROM generate_series(1, ${SUBJECTS}, 10) g;
CREATE INDEX ON orders (customer_id); CREATE INDEX ON orders (placed_at); CREATE INDEX ON support_tickets (customer_email);
ANALYZE;
`;

const DATA_MAP = (urlVar: string) => ({
  version: 1,
  subject: {
    store: "app",
    table: "customers",
    key: "id",
    identities: { email: "email" },
    contact: { email: "email", locale: "preferred_language", country: "country" },
  },
  controller: { name: "Bench Shop", contact: "privacy@bench.example" },
  stores: {
    app: {
      kind: "postgres",
      url: `\${${urlVar}}`,
      tables: {
        customers: {
          action: "delete",
          fields: {
            email: { category: "contact" },
            full_name: { category: "identity" },
            preferred_language: { personal: false, note: "language of our mail" },
            country: { category: "location" },
          },
        },
        orders: {
          action: "keep",
          ground: "tax records",
          fields: {
            customer_id: { personal: false, note: "link" },
            placed_at: { personal: false, note: "when" },
            shipping_name: { category: "identity", mask: "token" },
            card_last4: { category: "financial", mask: "null" },
          },
        },
        support_tickets: {
          action: "delete",
          fields: { customer_email: { category: "contact" }, body: { category: "content" } },
          via: [{ column: "customer_email", references: { table: "customers", column: "email" } }],
        },
      },
    },
  },
});

const TEXTS = {
  en: {
    summary: "An attacker could read our orders between 1 and 28 February 2025.",
    dataCategories: "your name on the order and the last digits of your card",
    consequences: "Phishing messages that look like ours are possible.",
    measures: "We closed the hole and reset every access key.",
    advice: "Never give payment details in reply to a message; we never ask for them.",
  },
  de: {
    summary: "Ein Angreifer konnte zwischen dem 1. und 28. Februar 2025 unsere Bestellungen lesen.",
    dataCategories: "Ihr Name auf der Bestellung und die letzten Ziffern Ihrer Karte",
    consequences: "Phishing-Nachrichten, die wie unsere aussehen, sind möglich.",
    measures: "Wir haben die Lücke geschlossen und alle Zugangsschlüssel erneuert.",
    advice: "Geben Sie nie Zahlungsdaten als Antwort auf eine Nachricht an; wir fragen nie danach.",
  },
};

/** Asks the sink child for its counts. */
function sinkStats(sink: ChildProcess, cmd: "stats" | "reset" = "stats"): Promise<{ messages: number; distinct: number }> {
  return new Promise((resolve) => {
    sink.once("message", (m) => resolve(m as { messages: number; distinct: number }));
    sink.send({ cmd });
  });
}

const seconds = (from: bigint): number => Number(process.hrtime.bigint() - from) / 1e9;
const log = (line: string): void => void process.stderr.write(`${line}\n`);

async function main(): Promise<void> {
  const app = await createScratchDb("bench_breach_app", SCRATCH);
  const lethe = await createScratchDb("bench_breach_lethe", SCRATCH);
  const smtpPort = await freePort();
  const sink = fork(join(__dirname, "smtp-sink.ts"), [String(smtpPort)], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  await new Promise((r) => sink.once("message", r));
  const mapPath = join(tmpdir(), `lethe-bench-breach-${process.pid}.json`);
  writeFileSync(mapPath, JSON.stringify(DATA_MAP("BENCH_APP_URL")));
  const env = letheEnv(lethe.url, mapPath, {
    BENCH_APP_URL: app.url,
    SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    LETHE_SMTP_RATE_PER_S: "1000000",
    LETHE_MAIL_CONCURRENCY: MAIL_CONCURRENCY,
    LETHE_BREACH_TICK_EVERY_MS: "250",
    LETHE_BREACH_STATEMENT_TIMEOUT_MS: "600000",
  });
  const config = loadConfig(env);
  let worker: ChildProcess | undefined;
  const ds = createDataSource(lethe.url, { poolSize: 4 });
  try {
    log(`seeding ${SUBJECTS} customers with ${ORDERS} orders each`);
    const c = new Client({ connectionString: app.url });
    await c.connect();
    await c.query(APP);
    await c.end();
    await migrate(lethe.url);
    await ds.initialize();
    const dataMap = loadDataMap(mapPath, env);
    const services = openServices(config, { ds, dataMap, logger: createLogger("warn") }, { role: "worker", storePoolSize: 2 });
    // BENCH_CPU_PROF=<dir>: the worker writes a V8 CPU profile there when it exits.
    worker = await startWorkerProcess(env, profileArgs());
    try {
      const now = new Date();
      const incident = await createIncident(
        services,
        {
          title: "Orders exposed",
          description: "The orders table was readable between two dates.",
          kinds: ["confidentiality"],
          detectedAt: new Date(now.getTime() - 7200_000).toISOString(),
          awareAt: new Date(now.getTime() - 3600_000).toISOString(),
          occurred: { from: "2025-02-01T00:00:00Z", until: "2025-03-01T00:00:00Z" },
          stores: ["app"],
        },
        "bench",
        now,
      );
      let t = process.hrtime.bigint();
      const scope = await dryRunScope(
        services,
        incident.id,
        { kind: "rows", store: "app", table: "orders", window: { column: "placed_at", from: "2025-02-01T00:00:00Z", until: "2025-03-01T00:00:00Z" } },
        "bench",
      );
      const resolveS = seconds(t);
      log(`resolve (dry run): ${scope.people} people from ${scope.records} breached rows in ${resolveS.toFixed(2)} s`);
      t = process.hrtime.bigint();
      await requestFreeze(services, incident.id, scope.id, "bench");
      for (let v = await getScopeView(ds, incident.id, scope.id); v.state === "freezing"; v = await getScopeView(ds, incident.id, scope.id))
        await new Promise((r) => setTimeout(r, 100));
      const freezeS = seconds(t);
      log(`freeze: ${freezeS.toFixed(2)} s`);
      await assessIncident(
        ds,
        incident.id,
        {
          dataCategories: [{ category: "financial", label: "orders" }],
          ease: "significant",
          confidentiality: "unknown_recipients",
          integrity: "not_affected",
          availability: "not_affected",
          maliciousIntent: true,
        },
        "bench",
      );
      await decideIncident(ds, config, incident.id, { notifyAuthority: true, notifySubjects: true, rationale: "benchmark: high risk" }, "bench", new Date());
      const notice = await prepareIncidentNotice(ds, dataMap, incident.id, { texts: TEXTS, contact: { name: "DPO", email: "dpo@bench.example" } }, "bench");

      await sinkStats(sink, "reset");
      t = process.hrtime.bigint();
      await notifySubjects(services, incident.id, {}, "bench");
      let last = 0;
      for (;;) {
        const { messages } = await sinkStats(sink);
        if (messages >= SUBJECTS) break;
        if (messages - last >= SUBJECTS / 10) {
          log(`  ${messages} notices at the sink after ${seconds(t).toFixed(1)} s`);
          last = messages;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      const sendS = seconds(t);
      for (
        let p = await fanoutProgress(ds, config, await requireIncident(ds, incident.id));
        p.state !== "done";
        p = await fanoutProgress(ds, config, await requireIncident(ds, incident.id))
      ) {
        await new Promise((r) => setTimeout(r, 100));
      }
      const lethe1 = await sinkStats(sink);
      const peak = peakRssMb(worker.pid!);
      const mailsPerS = SUBJECTS / sendS;
      log(
        `lethe: ${SUBJECTS} notices in ${sendS.toFixed(2)} s = ${mailsPerS.toFixed(0)}/s; worker peak RSS ${peak} MB; ${lethe1.messages - lethe1.distinct} duplicates`,
      );
      await services.close();

      // Baseline: raw pooled nodemailer, the same pool size, the same message.
      await sinkStats(sink, "reset");
      const rendered = notice.notices.en!;
      const transport = createTransport({ url: config.smtpUrl, pool: true, maxConnections: SMTP_POOL_SIZE, maxMessages: 100, logger: false });
      t = process.hrtime.bigint();
      const inFlight = new Set<Promise<unknown>>();
      for (let i = 1; i <= SUBJECTS; i++) {
        const p = transport
          .sendMail({
            from: config.mailFrom,
            to: `person${i}@example.test`,
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
            headers: { [NOTIFICATION_ID_HEADER]: `baseline-${i}` },
          })
          .finally(() => inFlight.delete(p));
        inFlight.add(p);
        if (inFlight.size >= 200) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
      const baselineS = seconds(t);
      transport.close();
      const baselinePerS = SUBJECTS / baselineS;
      log(`baseline (nodemailer, pool of ${SMTP_POOL_SIZE}): ${SUBJECTS} messages in ${baselineS.toFixed(2)} s = ${baselinePerS.toFixed(0)}/s`);
      process.stdout.write(
        `${JSON.stringify({
          subjects: SUBJECTS,
          resolve_s: Number(resolveS.toFixed(2)),
          freeze_s: Number(freezeS.toFixed(2)),
          mails_per_s: Math.round(mailsPerS),
          baseline_mails_per_s: Math.round(baselinePerS),
          ratio: Number((mailsPerS / baselinePerS).toFixed(2)),
          duplicates: lethe1.messages - lethe1.distinct,
          peak_rss_mb: peak,
        })}\n`,
      );
    } finally {
      await services.close();
    }
  } finally {
    worker?.kill("SIGTERM");
    if (worker && worker.exitCode === null) await new Promise((r) => worker!.once("exit", r));
    sink.disconnect();
    if (ds.isInitialized) await ds.destroy();
    await deletePrefixKeys(config.redisUrl, config.queuePrefix).catch(() => undefined);
    await app.drop();
    await lethe.drop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:breach failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
