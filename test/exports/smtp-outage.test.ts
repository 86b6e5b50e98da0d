import { mailAttemptsFor, mailBackoffMs, MAIL_BACKOFF_CAP_MS } from "../../src/mail/retry-policy";
import { waitFor } from "../helpers/wait";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createExportHarness, WRITER, type ExportHarness } from "./support";
import { createSmallShop, smallShopMapFile } from "./fixtures";

/**
 * Issue #10: a short SMTP outage lost an export for good (4 attempts, 1 s backoff: failed about
 * 8 s after submission). Mail now rides an outage out as a mail server does: the delay doubles
 * from LETHE_BACKOFF_MS up to an hour, for LETHE_SMTP_RETRY_HOURS (default 24 h). Here the SMTP
 * server stays down longer than the old budget of these settings, and the mail still arrives.
 */

const BACKOFF_MS = 1000;
const OLD_ATTEMPTS = 4;
/** What the old policy (LETHE_JOB_ATTEMPTS=4, exponential from 1 s) waited in all before failing. */
const OLD_BUDGET_MS = BACKOFF_MS * (2 ** (OLD_ATTEMPTS - 1) - 1);

describe("mail retry policy", () => {
  it("doubles from the base delay, capped at an hour, with attempts spanning the window", () => {
    expect([1, 2, 3, 4].map((n) => mailBackoffMs(n, 1000))).toEqual([1000, 2000, 4000, 8000]);
    expect(mailBackoffMs(30, 1000)).toBe(MAIL_BACKOFF_CAP_MS);
    const attempts = mailAttemptsFor(24, 1000);
    let waited = 0;
    for (let n = 1; n < attempts; n++) waited += mailBackoffMs(n, 1000);
    expect(waited).toBeGreaterThanOrEqual(24 * 3_600_000);
    expect(waited - mailBackoffMs(attempts - 1, 1000)).toBeLessThan(24 * 3_600_000);
  });
});

describe("an SMTP outage longer than the old retry budget", () => {
  let x: ExportHarness;

  beforeAll(async () => {
    x = await createExportHarness({
      map: smallShopMapFile(),
      prepare: createSmallShop,
      smtp: null, // down from the start
      env: { LETHE_BACKOFF_MS: String(BACKOFF_MS), LETHE_JOB_ATTEMPTS: String(OLD_ATTEMPTS), LETHE_SMTP_RATE_PER_S: "50" },
    });
    await x.h.startWorker({ queues: ["erasure", "maintenance", "export", "mail"] });
  }, 120_000);

  afterAll(async () => {
    await x?.cleanup();
  });

  it("keeps the export and its link, retries with growing delays, and delivers once the server is back", async () => {
    const submittedAt = Date.now();
    const request = await x.submitExport({ email: "customer2@shop.example" });
    // More tries than the old policy allowed, and longer down than its whole budget: still waiting, not failed.
    const waiting = await waitFor(
      async () => {
        const rows = (await x.h.ds.query(`SELECT status, attempts, error_code FROM lethe.mail_delivery WHERE request_id = $1`, [request.id])) as Array<{
          status: string;
          attempts: number;
          error_code: string | null;
        }>;
        const d = rows[0];
        return d && d.attempts >= OLD_ATTEMPTS && Date.now() - submittedAt > OLD_BUDGET_MS + 2000 ? d : undefined;
      },
      "more failed tries than the old budget",
      60_000,
      200,
    );
    expect(waiting).toMatchObject({ status: "pending", error_code: "smtp_unreachable" });
    const view = await x.h.waitForStatus(request.id, ["running", "completed", "failed"]);
    expect(view.status).toBe("running");
    expect(view.export).toMatchObject({ status: "ready", delivery: { status: "pending" } });

    const smtp = await x.restartSmtp();
    const done = await x.h.waitForStatus(request.id, ["completed", "failed"], 90_000);
    expect(done.status).toBe("completed");
    expect(done.export?.delivery).toMatchObject({ status: "sent", smtpCode: 250, errorCode: null });
    expect(smtp.messages).toHaveLength(1);
    expect(smtp.messages[0]!.to).toEqual(["customer2@shop.example"]);
  }, 180_000);
});

describe("an export whose mail stayed undeliverable for the whole window", () => {
  let x: ExportHarness;

  beforeAll(async () => {
    x = await createExportHarness({
      map: smallShopMapFile(),
      prepare: createSmallShop,
      smtp: null,
      // A window of about 4 s, so the test sees it close.
      env: { LETHE_BACKOFF_MS: "300", LETHE_SMTP_RETRY_HOURS: "0.001", LETHE_SMTP_RATE_PER_S: "50" },
    });
    await x.h.startWorker({ queues: ["erasure", "maintenance", "export", "mail"] });
  }, 120_000);

  afterAll(async () => {
    await x?.cleanup();
  });

  it("fails visibly but keeps the export, its file and link; a retry sends it once the server is back", async () => {
    const request = await x.submitExport({ email: "customer3@shop.example" });
    const failed = await x.h.waitForStatus(request.id, ["failed", "completed"], 60_000);
    expect(failed.status).toBe("failed");
    expect(failed.error).toMatchObject({ code: "smtp_unreachable" });
    expect(failed.export).toMatchObject({ status: "ready" });
    const rows = (await x.h.ds.query(`SELECT path FROM lethe.export WHERE request_id = $1 AND deleted_at IS NULL`, [request.id])) as Array<{ path: string }>;
    expect(rows).toHaveLength(1);
    expect(existsSync(join(x.exportDir, rows[0]!.path))).toBe(true);

    const smtp = await x.restartSmtp();
    const retried = await x.api.inject({ method: "POST", url: `/v1/requests/${request.id}/retry`, headers: WRITER });
    expect(retried.statusCode).toBe(202);
    const done = await x.h.waitForStatus(request.id, ["completed", "failed"], 60_000);
    expect(done.status).toBe("completed");
    expect(smtp.messages).toHaveLength(1);
    expect(smtp.messages[0]!.to).toEqual(["customer3@shop.example"]);
  }, 120_000);
});
