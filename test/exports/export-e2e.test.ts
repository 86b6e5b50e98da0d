import { createHash } from "node:crypto";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "pg";
import type { DestinationStream } from "pino";
import { sealAuditLog, verifyAuditChain } from "../../src/audit/log";
import { signExportToken } from "../../src/exports/link-token";
import type { Manifest } from "../../src/exports/manifest";
import { createLogger } from "../../src/logger";
import { purgeExports } from "../../src/exports/purge";
import { exportJobId } from "../../src/queues/jobs/build-export";
import { mailJobId } from "../../src/queues/jobs/send-mail";
import { QUEUES } from "../../src/queues/names";
import type { RequestView } from "../../src/requests/view";
import type { WorkerHandle } from "../../workers/worker";
import { loadChinook, runSql } from "../helpers/db";
import { CHINOOK_MAP, type RawDataMap } from "../helpers/data-maps";
import { reconcilerPass, waitForJobState, waitForQueuesIdle } from "../helpers/job-events";
import { waitFor } from "../helpers/wait";
import { parseCsv, zipEntries, zipEntry, zipTest } from "../helpers/zip";
import { createExportHarness, linkIn, WRITER, type ExportHarness } from "./support";

type Row = Record<string, unknown>;

async function query<T extends Row = Row>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

/** Transparency keys added to the Chinook map (the schema's additive Art. 15 fields). */
const TRANSPARENCY = {
  controller: {
    name: "Chinook Music Ltd",
    contact: "privacy@chinook.example",
    dpo: "dpo@chinook.example",
    supervisoryAuthority: "The Data Protection Authority",
  },
  purposes: [
    { name: "Selling and delivering music", legalBasis: "contract (Art. 6(1)(b))" },
    { name: "Bookkeeping", description: "invoices kept for tax law", legalBasis: "legal obligation (Art. 6(1)(c))" },
  ],
  recipients: [
    { name: "Payment processor", purpose: "card payments" },
    { name: "Cloud host", purpose: "hosting", thirdCountry: "United States", safeguards: "standard contractual clauses" },
  ],
  sources: ["Our record label partners (for purchase history imported before 2010)"],
};

describe("exports end to end: Chinook", () => {
  let x: ExportHarness;
  let worker: WorkerHandle;
  /** Every log line of the workers and the API, at trace level. */
  const lines: string[] = [];

  beforeAll(async () => {
    x = await createExportHarness({
      map: CHINOOK_MAP,
      logger: createLogger("trace", { write: (s: string) => void lines.push(s) } as unknown as DestinationStream),
      prepare: async (url) => {
        await loadChinook(url);
        await runSql(url, `CREATE UNIQUE INDEX customer_email_key ON customer (email)`);
      },
      editMap: (raw: RawDataMap) => {
        raw.subject.identities = { email: "email" };
        Object.assign(raw, TRANSPARENCY);
      },
    });
    worker = await x.h.startWorker({ queues: ["erasure", "maintenance", "export", "mail"] });
  });

  afterAll(async () => {
    await x?.cleanup();
  });

  /** Downloads a link over real HTTP into a file; returns the response and the path. */
  async function download(link: string, name: string): Promise<{ res: Response; file: string | null }> {
    const res = await fetch(link);
    if (res.status !== 200) return { res, file: null };
    const file = join(x.exportDir, `downloaded-${name}.zip`);
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    return { res, file };
  }

  /** Exports a customer through the API and returns the request id and the one message for it. */
  async function exportThroughApi(subject: Record<string, string>) {
    const before = x.smtp.messages.length;
    const res = await fetch(`${x.apiUrl}/v1/requests`, {
      method: "POST",
      headers: { ...WRITER, "content-type": "application/json" },
      body: JSON.stringify({ type: "export", subject }),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const view = await x.h.waitForStatus(id, ["completed", "failed"]);
    expect(view.error).toBeNull();
    expect(view.status).toBe("completed");
    const [message] = (await x.smtp.waitForMessages(before + 1)).slice(before);
    return { id, view, message: message! };
  }

  it("exports a customer: one mail, a working link, a zip whose JSON, CSV, manifest and info sheet are right", async () => {
    const customerId = 12;
    const [customer] = await query<{ email: string }>(x.h.appDb.url, `SELECT email FROM customer WHERE customer_id = $1`, [customerId]);
    const { id, view, message } = await exportThroughApi({ id: String(customerId) });

    // Exactly one message, to the customer's address, with a link under LETHE_PUBLIC_URL: once
    // the mail job has ended and the reconciler has had a whole pass to re-enqueue anything.
    await waitForJobState(x.mailQueue, mailJobId("export", view.export!.id));
    await reconcilerPass(worker);
    await waitForQueuesIdle([x.exportQueue, x.mailQueue]);
    expect(x.smtp.messages.filter((m) => m.to.includes(customer!.email))).toHaveLength(1);
    expect(message.to).toEqual([customer!.email]);
    expect(message.parsed.subject).toContain("Chinook Music Ltd");
    expect(message.parsed.html).toContain("Download your data");
    const link = linkIn(message.parsed.text);
    expect(link.startsWith(`${x.apiUrl}/v1/exports/`)).toBe(true);
    expect(message.parsed.html).toContain(link.replace(/&/g, "&amp;"));

    // The request view shows the export and its delivery.
    expect(view.export).toMatchObject({ status: "ready", delivery: { status: "sent", attempts: 1 }, downloads: 0 });
    const exp = view.export!;

    // The file on disk: mode 0600, size and sha256 as recorded.
    const [row] = (await x.h.ds.query(`SELECT path, size_bytes::int AS size, sha256, expires_at FROM lethe.export WHERE request_id = $1`, [id])) as Array<{
      path: string;
      size: number;
      sha256: string;
      expires_at: Date;
    }>;
    const onDisk = join(x.exportDir, row!.path);
    expect(statSync(onDisk).mode & 0o777).toBe(0o600);
    expect(statSync(onDisk).size).toBe(row!.size);
    expect(sha256(readFileSync(onDisk))).toBe(row!.sha256);
    expect(row!.expires_at.getTime()).toBeGreaterThan(Date.now() + 167 * 3600_000);

    // Follow the link over HTTP.
    const { res, file } = await download(link, "e2e");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/zip");
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="personal-data-\d{4}-\d{2}-\d{2}\.zip"$/);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(sha256(readFileSync(file!))).toBe(row!.sha256);
    await zipTest(file!);

    const tables = ["customer", "invoice", "invoice_line"];
    const names = await zipEntries(file!);
    expect([...names].sort()).toEqual([...tables.flatMap((t) => [`data/main/${t}.csv`, `data/main/${t}.json`]), "index.html", "manifest.json"].sort());

    // JSON and CSV equal the customer's rows in the database.
    const expected: Record<string, { where: string }> = {
      customer: { where: "t.customer_id = $1" },
      invoice: { where: "t.customer_id = $1" },
      invoice_line: { where: "t.invoice_id IN (SELECT invoice_id FROM invoice WHERE customer_id = $1)" },
    };
    for (const table of tables) {
      const dbJson = await query<{ j: Row }>(x.h.appDb.url, `SELECT row_to_json(t) AS j FROM ${table} t WHERE ${expected[table]!.where}`, [customerId]);
      expect(dbJson.length).toBeGreaterThan(0);
      const zipJson = JSON.parse((await zipEntry(file!, `data/main/${table}.json`)).toString("utf8")) as Row[];
      const key = (r: Row) => JSON.stringify(r);
      expect(zipJson.map(key).sort()).toEqual(dbJson.map((r) => key(r.j)).sort());

      const cols = (
        await query<{ c: string }>(
          x.h.appDb.url,
          `SELECT attname AS c FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
          [table],
        )
      ).map((r) => r.c);
      const dbText = await query<{ v: Array<string | null> }>(
        x.h.appDb.url,
        `SELECT ARRAY[${cols.map((c) => `t.${c}::text`).join(", ")}] AS v FROM ${table} t WHERE ${expected[table]!.where}`,
        [customerId],
      );
      const csv = parseCsv((await zipEntry(file!, `data/main/${table}.csv`)).toString("utf8"));
      expect(csv[0]).toEqual(cols);
      expect(
        csv
          .slice(1)
          .map((r) => JSON.stringify(r))
          .sort(),
      ).toEqual(dbText.map((r) => JSON.stringify(r.v.map((v) => v ?? ""))).sort());
    }

    // The manifest: every other entry with its bytes, sha256 and rows; the request id, time, version.
    const manifest = JSON.parse((await zipEntry(file!, "manifest.json")).toString("utf8")) as Manifest;
    expect(manifest).toMatchObject({
      format: "lethe-export/1",
      requestId: id,
      exportId: exp.id,
      generator: { name: "lethe", version: expect.stringMatching(/^\d+\.\d+\.\d+/) },
    });
    expect(Date.parse(manifest.generatedAt)).toBeGreaterThan(Date.now() - 120_000);
    expect(manifest.entries.map((e) => e.path).sort()).toEqual(names.filter((n) => n !== "manifest.json").sort());
    for (const e of manifest.entries) {
      const content = await zipEntry(file!, e.path);
      expect({ path: e.path, bytes: content.length, sha256: sha256(content) }).toEqual({ path: e.path, bytes: e.bytes, sha256: e.sha256 });
    }
    const invoiceRows = (await query<{ n: number }>(x.h.appDb.url, `SELECT count(*)::int AS n FROM invoice WHERE customer_id = $1`, [customerId]))[0]!.n;
    expect(manifest.entries.find((e) => e.path === "data/main/invoice.json")?.rows).toBe(invoiceRows);
    expect(manifest.entries.find((e) => e.path === "data/main/invoice.csv")?.rows).toBe(invoiceRows);
    expect(exp.tables).toEqual(expect.arrayContaining([{ store: "main", table: "invoice", rows: invoiceRows }]));

    // The info sheet lists the purposes, recipients (third country flagged), controller, rights.
    const html = (await zipEntry(file!, "index.html")).toString("utf8");
    for (const p of TRANSPARENCY.purposes) expect(html).toContain(p.name);
    for (const p of ["Customer account, invoicing and support", "Invoicing and bookkeeping"]) expect(html).toContain(p);
    expect(html).toContain("Chinook Music Ltd");
    expect(html).toContain("dpo@chinook.example");
    expect(html).toContain("Yes: United States");
    expect(html).toContain("10 years");
    expect(html).toContain("Our record label partners");
    for (const right of ["Rectification", "Erasure", "Restriction", "Objection", "Complaint"]) expect(html).toContain(right);
    expect(html).toContain('href="data/main/invoice.csv"');

    // Bookkeeping: identities wiped, the audit trail, the download counted.
    const [req] = await x.h.ds.query(`SELECT identities FROM lethe.subject_request WHERE id = $1`, [id]);
    expect(req.identities).toBeNull();
    const events = (await x.h.ds.query(`SELECT event FROM lethe.audit_log WHERE request_id = $1 ORDER BY id`, [id])) as Array<{ event: string }>;
    expect(events.map((e) => e.event)).toEqual(["request.received", "export.built", "export.completed", "export.downloaded"]);
    expect((await x.h.waitForStatus(id, ["completed"])).export?.downloads).toBe(1);
  });

  it("refuses altered (403) and expired (410) links, and deletes the file when the link expires", async () => {
    const { id, message } = await exportThroughApi({ email: "leonekohler@surfeu.de" });
    expect(message.to).toEqual(["leonekohler@surfeu.de"]);
    const link = linkIn(message.parsed.text);
    const url = new URL(link);
    const token = url.searchParams.get("token")!;
    const exportId = url.pathname.split("/")[3]!;
    const withToken = (t: string) => `${x.apiUrl}/v1/exports/${exportId}/download?token=${encodeURIComponent(t)}`;

    const problem = async (u: string, status: number) => {
      const res = await fetch(u);
      expect(res.status).toBe(status);
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      const body = (await res.json()) as { detail: string; instance: string };
      expect(body.instance).not.toContain("token");
      return body;
    };
    // Altered MAC, altered expiry, missing token, another export's id: all 403.
    const [exp, mac] = token.split(".") as [string, string];
    const flipped = mac.slice(0, 5) + (mac[5] === "A" ? "B" : "A") + mac.slice(6);
    await problem(withToken(`${exp}.${flipped}`), 403);
    await problem(withToken(`${Number(exp) + 3600}.${mac}`), 403);
    await problem(`${x.apiUrl}/v1/exports/${exportId}/download`, 403);
    await problem(`${x.apiUrl}/v1/exports/00000000-0000-4000-8000-000000000000/download?token=${encodeURIComponent(token)}`, 403);
    // A correctly signed token whose expiry has passed: 410.
    await problem(withToken(signExportToken(x.h.config.hmacKey, exportId, new Date(Date.now() - 1000))), 410);
    // The real link still works.
    expect((await download(link, "before-expiry")).res.status).toBe(200);

    // The export expires: the link is gone at once; the purge deletes the file and says so.
    const { path } = (
      (await x.h.ds.query(`UPDATE lethe.export SET expires_at = now() - interval '1 second' WHERE id = $1 RETURNING path`, [exportId])) as [
        Array<{ path: string }>,
        number,
      ]
    )[0][0]!;
    expect(statSync(join(x.exportDir, path)).isFile()).toBe(true);
    await problem(link, 410);
    const purged = await purgeExports(x.h.ds, x.exportDir, x.h.logger);
    expect(purged.expired).toBeGreaterThanOrEqual(1);
    expect(() => statSync(join(x.exportDir, path))).toThrow(/ENOENT/);
    const view = await x.h.waitForStatus(id, ["completed"]);
    expect(view.export).toMatchObject({ status: "expired", deletedAt: expect.any(String) });
    await problem(link, 410);
    const events = (await x.h.ds.query(`SELECT event FROM lethe.audit_log WHERE request_id = $1 ORDER BY id`, [id])) as Array<{ event: string }>;
    expect(events.map((e) => e.event)).toContain("export.purged");

    // The worker keeps the purge scheduled on the maintenance queue.
    const schedulers = await x.h.maintenanceQueue.getJobSchedulers();
    expect(schedulers.map((s) => s.key)).toContain("purge-exports");
  });

  it("leaves no personal value in logs, job payloads, Redis or Lethe's tables (the zip aside)", async () => {
    const marker = `mk${Date.now().toString(36)}`;
    const email = `${marker}.person@example.org`;
    const customerId = (
      await query<{ id: number }>(
        x.h.appDb.url,
        `INSERT INTO customer (customer_id, first_name, last_name, email, phone, city, country, support_rep_id)
       VALUES ((SELECT max(customer_id) + 1 FROM customer), $1, $2, $3, $4, $5, 'Norway', 3) RETURNING customer_id AS id`,
        [`First-${marker}`, `Last-${marker}`, email, `+47-${marker}`, `City-${marker}`],
      )
    )[0]!.id;
    await query(
      x.h.appDb.url,
      `INSERT INTO invoice (invoice_id, customer_id, invoice_date, billing_address, total) VALUES ((SELECT max(invoice_id) + 1 FROM invoice), $1, now(), $2, 9.99)`,
      [customerId, `Street-${marker}`],
    );

    const logged = lines.length;
    const request = await x.submitExport({ email });
    const view = await x.h.waitForStatus(request.id, ["completed", "failed"]);
    expect(view.status).toBe("completed");
    const mine = x.smtp.messages.filter((m) => m.to.includes(email));
    expect(mine).toHaveLength(1);
    // The zip has the markers (it is the subject's copy) ...
    const { file } = await download(linkIn(mine[0]!.parsed.text), "markers");
    expect((await zipEntry(file!, "data/main/customer.json")).toString("utf8")).toContain(`First-${marker}`);
    expect((await zipEntry(file!, "data/main/invoice.csv")).toString("utf8")).toContain(`Street-${marker}`);
    // ... and nothing else does: not the logs (workers and API, at trace level) ...
    const mineLogged = lines.slice(logged).join("\n");
    expect(mineLogged).toContain("export built");
    expect(mineLogged).toContain("export mail sent");
    for (const l of lines) expect(l).not.toContain(marker);

    const values: string[] = [];
    for (const key of await x.h.prefixKeys()) {
      const type = await x.h.redis.type(key);
      if (type === "string") values.push(String(await x.h.redis.get(key)));
      else if (type === "hash") values.push(JSON.stringify(await x.h.redis.hgetall(key)));
      else if (type === "list") values.push(JSON.stringify(await x.h.redis.lrange(key, 0, -1)));
      else if (type === "set") values.push(JSON.stringify(await x.h.redis.smembers(key)));
      else if (type === "zset") values.push(JSON.stringify(await x.h.redis.zrange(key, 0, -1)));
      else if (type === "stream") values.push(JSON.stringify(await x.h.redis.xrange(key, "-", "+")));
      values.push(key);
    }
    expect(values.length).toBeGreaterThan(0);
    expect(values.join("\n")).toContain("mail-export-");
    for (const v of values) expect(v).not.toContain(marker);
    for (const q of [QUEUES.export, QUEUES.mail]) {
      const queue = q === QUEUES.export ? x.exportQueue : x.mailQueue;
      const jobs = await queue.getJobs(["completed", "failed", "waiting", "active", "delayed"]);
      expect(jobs.length).toBeGreaterThan(0);
      for (const j of jobs) expect(JSON.stringify({ data: j.data, ret: j.returnvalue, reason: j.failedReason })).not.toContain(marker);
    }
    for (const table of ["subject_request", "export", "mail_delivery", "audit_log", "request_step"]) {
      const rows = (await x.h.ds.query(`SELECT row_to_json(t)::text AS j FROM lethe.${table} t`)) as Array<{ j: string }>;
      for (const r of rows) expect(r.j).not.toContain(marker);
    }
    // Sealed now, the chain holds more than nine rows: it once sorted "10" before "9" (text aliases).
    // The worker's own sealer may hold the chain's lock right now: seal until nothing is left.
    const chain = await waitFor(
      async () => {
        while ((await sealAuditLog(x.h.ds)) > 0);
        const report = await verifyAuditChain(x.h.ds.manager);
        return report.unsealed === 0 ? report : undefined;
      },
      "the audit log to be sealed",
      10_000,
      50,
    );
    expect(chain).toMatchObject({ brokenAt: null, unsealed: 0 });
    expect(chain.sealed).toBeGreaterThanOrEqual(10);
  });

  it("takes export requests from the CLI too: `lethe request export --subject <id> --wait`", async () => {
    const before = x.smtp.messages.length;
    const child = x.h.spawn("workers/cli.ts", ["request", "export", "--subject", "21", "--wait", "--timeout", "60"]);
    const { code } = await child.exited;
    expect({ code, stderr: child.stderr() }).toEqual({ code: 0, stderr: "" });
    const view = JSON.parse(child.stdout()) as RequestView;
    expect(view).toMatchObject({ type: "export", status: "completed", export: { status: "ready", delivery: { status: "sent" } } });
    const [customer] = await query<{ email: string }>(x.h.appDb.url, `SELECT email FROM customer WHERE customer_id = 21`);
    expect(x.smtp.messages.slice(before).map((m) => m.to)).toEqual([[customer!.email]]);
  });

  it("refuses a preview of an export, and an export of an unknown customer completes without mail", async () => {
    const res = await fetch(`${x.apiUrl}/v1/requests`, {
      method: "POST",
      headers: { ...WRITER, "content-type": "application/json" },
      body: JSON.stringify({ type: "export", subject: { id: "1" }, dryRun: true }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errors: Array<{ field: string }> }).errors[0]!.field).toBe("dryRun");

    const before = x.smtp.messages.length;
    const request = await x.submitExport({ id: "999999" });
    const view = await x.h.waitForStatus(request.id, ["completed", "failed"]);
    expect(view).toMatchObject({ status: "completed", outcome: "subject_not_found", subjectFound: false, verified: false, export: null, error: null });
    const [row] = await x.h.ds.query(`SELECT identities, result FROM lethe.subject_request WHERE id = $1`, [request.id]);
    expect(row).toEqual({ identities: null, result: { steps: [], subjectFound: false, outcome: "subject_not_found", verified: false } });
    // No mail: the build job has ended, nothing is left to run, and a reconcile pass added nothing.
    await waitForJobState(x.exportQueue, exportJobId(request.id));
    await reconcilerPass(worker);
    await waitForQueuesIdle([x.exportQueue, x.mailQueue]);
    expect(x.smtp.messages.length).toBe(before);
  });
});
