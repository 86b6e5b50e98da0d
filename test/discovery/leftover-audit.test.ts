import { auditLeftovers } from "../../src/audit/leftover-audit";
import { AUDIT_LEFTOVERS } from "../../src/queues/jobs/audit-leftovers";
import { TRAPS, loadTraps } from "../fixtures/traps/seed";
import { runTs } from "../helpers/child-process";
import { TRAPS_MAP } from "../helpers/data-maps";
import { runSql } from "../helpers/db";
import { createHarness, type LetheHarness } from "../helpers/harness";
import { waitForJobState } from "../helpers/job-events";

/**
 * The leftover audit (issue 9): what no link declares is still found. After an erasure, copies of
 * the erased customer's email (mixed-case and padded) in a table no link reaches, and one that
 * slipped back into a linked table, are reported by table, column and count — never the value —
 * by the function, by `lethe audit-leftovers` (exit 1) and by the scheduled job (failed visibly).
 */
describe("leftover audit on the trap shop", () => {
  let h: LetheHarness;
  let erased = "";

  beforeAll(async () => {
    h = await createHarness({ map: TRAPS_MAP, prepare: (url) => loadTraps(url) });
    const worker = await h.startWorker();
    const { request } = await h.submit({ email: TRAPS.mark.email });
    erased = (await h.waitForStatus(request.id, ["completed", "failed"])).status;
    await worker.close();
  });

  afterAll(async () => {
    await h?.cleanup();
  });

  const services = async () => {
    const worker = await h.startWorker({ queues: ["maintenance"] });
    return worker;
  };

  it("finds nothing after a complete erasure, and says how much it read", async () => {
    expect(erased).toBe("completed");
    const worker = await services();
    try {
      const report = await auditLeftovers(worker.services);
      expect(report.findings).toEqual([]);
      expect(report.ledger).toBeGreaterThan(0);
      expect(report.stores).toEqual(["shop"]);
      expect(report.rows).toBeGreaterThan(2000);
      expect(report.values).toBeGreaterThan(report.rows);
    } finally {
      await worker.close();
    }
  });

  it("reports copies of an erased identity by table, column and count, in any table, normalised by the identity's rule", async () => {
    await runSql(
      h.appDb.url,
      `CREATE TABLE crm_exports (id serial PRIMARY KEY, contact text, note text);
       INSERT INTO crm_exports (contact, note) VALUES (' ZQXMark8@Example.com', 'exported'), ('person2@example.org', 'exported'), ('zqxmark8@example.com', NULL);
       INSERT INTO support_tickets (customer_email, subject, body) VALUES ('ZQXMARK8@example.com ', 'back again', 'hello');`,
    );
    const worker = await services();
    try {
      const report = await auditLeftovers(worker.services);
      expect(report.findings).toEqual([
        { store: "shop", table: "crm_exports", column: "contact", count: 2 },
        { store: "shop", table: "support_tickets", column: "customer_email", count: 1 },
      ]);
      expect(JSON.stringify(report).toLowerCase()).not.toContain("zqxmark8");
    } finally {
      await worker.close();
    }
  });

  it("lethe audit-leftovers prints the report and exits 1; the scheduled job fails visibly with leftovers_found; both are in the audit log", async () => {
    const cli = await runTs("workers/cli.ts", ["audit-leftovers"], h.env);
    expect(cli.code).toBe(1);
    const printed = JSON.parse(cli.stdout) as { findings: unknown[]; rowsPerSecond: number };
    expect(printed.findings).toHaveLength(2);
    expect(printed.rowsPerSecond).toBeGreaterThan(0);
    expect(cli.stdout.toLowerCase()).not.toContain("zqxmark8");

    const worker = await services();
    try {
      await AUDIT_LEFTOVERS.enqueue(h.maintenanceQueue, h.config, {}, { jobId: "audit-leftovers-now" });
      const job = await waitForJobState(h.maintenanceQueue, "audit-leftovers-now", ["failed", "completed"], 60_000);
      expect(await job.getState()).toBe("failed");
      expect(job.failedReason).toBe("erased subjects' identities are still present: shop.crm_exports.contact (2), shop.support_tickets.customer_email (1)");
    } finally {
      await worker.close();
    }
    const entries = (await h.ds.query(`SELECT actor, detail FROM lethe.audit_log WHERE event = 'leftovers.audited' ORDER BY id`)) as Array<{
      actor: string;
      detail: { findings: unknown[] };
    }>;
    expect(entries.map((e) => [e.actor, e.detail.findings.length])).toEqual([
      ["cli", 2],
      ["worker", 2],
    ]);
  });
});
