import { existsSync } from "node:fs";
import { join } from "node:path";
import { exportJobId } from "../../src/queues/jobs/build-export";
import { mailJobId } from "../../src/queues/jobs/send-mail";
import { submitRequest } from "../../src/requests/service";
import type { WorkerHandle } from "../../workers/worker";
import { reconcilerPass, waitForJobState, waitForQueuesIdle } from "../helpers/job-events";
import { waitFor } from "../helpers/wait";
import { createExportHarness, linkIn, type ExportHarness } from "./support";
import { createSmallShop, smallShopMapFile } from "./fixtures";

interface DeliveryRow {
  status: string;
  attempts: number;
  smtp_code: number | null;
  error_code: string | null;
}

describe("export mail: retries, refusals, single-use links", () => {
  let x: ExportHarness;
  let worker: WorkerHandle;

  beforeAll(async () => {
    x = await createExportHarness({
      map: smallShopMapFile(),
      prepare: createSmallShop,
      // The SMTP server starts later, on the reserved port: it is down at first.
      smtp: null,
      env: { LETHE_EXPORT_SINGLE_USE: "true", LETHE_BACKOFF_MS: "200", LETHE_JOB_ATTEMPTS: "10", LETHE_SMTP_RATE_PER_S: "50" },
    });
    worker = await x.h.startWorker({ queues: ["erasure", "maintenance", "export", "mail"] });
  });

  afterAll(async () => {
    await x?.cleanup();
  });

  /**
   * Waits until nothing more can be sent for `exportId`: its mail job has ended, the reconciler
   * has had a whole pass to re-enqueue anything, and nothing is left to run.
   */
  async function mailSettled(exportId: string): Promise<void> {
    await waitForJobState(x.mailQueue, mailJobId("export", exportId));
    await reconcilerPass(worker);
    await waitForQueuesIdle([x.exportQueue, x.mailQueue]);
  }

  const delivery = async (requestId: string): Promise<DeliveryRow | undefined> =>
    ((await x.h.ds.query(`SELECT status, attempts, smtp_code, error_code FROM lethe.mail_delivery WHERE request_id = $1`, [requestId])) as DeliveryRow[])[0];

  it("delivers exactly once when the SMTP server is down and then comes up; a single-use link works once", async () => {
    const request = await x.submitExport({ email: "customer3@shop.example" });
    // Down: the mail job fails with a network error and is retried; the request waits, visibly.
    const failing = await waitFor(async () => {
      const d = await delivery(request.id);
      return d && d.attempts >= 2 && d.status === "pending" ? d : undefined;
    }, "two failed send attempts");
    expect(failing).toMatchObject({ status: "pending", error_code: "smtp_unreachable", smtp_code: null });
    const waiting = await x.h.waitForStatus(request.id, ["running"]);
    expect(waiting.export).toMatchObject({ status: "ready", delivery: { status: "pending", errorCode: "smtp_unreachable" } });

    // Up: the next retry delivers it, once.
    const smtp = await x.restartSmtp();
    const view = await x.h.waitForStatus(request.id, ["completed", "failed"]);
    expect(view.status).toBe("completed");
    expect(view.export?.delivery).toMatchObject({ status: "sent", errorCode: null });
    await mailSettled(view.export!.id);
    expect(smtp.messages).toHaveLength(1);
    expect(smtp.messages[0]!.to).toEqual(["customer3@shop.example"]);
    expect(smtp.messages[0]!.parsed.messageId).toMatch(/^<export-[0-9a-f-]{36}@shop\.example>$/);
    const job = await x.mailQueue.getJob(mailJobId("export", view.export!.id));
    expect(job?.attemptsMade).toBeGreaterThanOrEqual(2);

    // The link (LETHE_EXPORT_SINGLE_USE=true) works once.
    const link = linkIn(smtp.messages[0]!.parsed.text);
    const first = await fetch(link);
    expect(first.status).toBe(200);
    expect((await first.arrayBuffer()).byteLength).toBe(view.export!.sizeBytes);
    const second = await fetch(link);
    expect(second.status).toBe(410);
    expect(((await second.json()) as { detail: string }).detail).toMatch(/used/);
    const downloads = (await x.h.ds.query(`SELECT count(*)::int AS n FROM lethe.audit_log WHERE request_id = $1 AND event = 'export.downloaded'`, [
      request.id,
    ])) as Array<{ n: number }>;
    expect(downloads[0]!.n).toBe(1);
    // HEAD is not served (it would use up a single-use link).
    expect((await fetch(link, { method: "HEAD" })).status).toBe(404);
    await smtp.close();
  });

  it("retries a 4xx deferral and delivers once", async () => {
    const smtp = await x.restartSmtp({ rejectRcpt: 451, rejectFirst: 2 });
    try {
      const request = await x.submitExport({ id: "5" });
      const view = await x.h.waitForStatus(request.id, ["completed", "failed"]);
      expect(view.status).toBe("completed");
      expect(view.export?.delivery).toMatchObject({ status: "sent", attempts: 3 });
      await mailSettled(view.export!.id);
      expect(smtp.rcpts).toEqual(Array(3).fill("customer5@shop.example"));
      expect(smtp.messages).toHaveLength(1);
      expect(smtp.messages[0]!.to).toEqual(["customer5@shop.example"]);
    } finally {
      await smtp.close();
    }
  });

  it("re-enqueues what Redis never had or lost: a build job never added, a mail job deleted; delivered once", async () => {
    // The API died between its insert and its enqueue: the request exists only in Postgres.
    const { request } = await submitRequest(
      { ds: x.h.ds, config: x.h.config, dataMap: x.h.dataMap, queues: { erasure: x.h.erasureQueue }, logger: x.h.logger },
      { type: "export", subject: { id: "9" }, requestedBy: "test" },
    );
    expect(await x.exportQueue.getJob(exportJobId(request.id))).toBeUndefined();
    // The reconciler adds the build job; the zip is built; SMTP is down, so the mail waits.
    const pending = await waitFor(async () => {
      const d = await delivery(request.id);
      return d && d.attempts >= 3 && d.status === "pending" ? d : undefined;
    }, "the mail to be tried");
    expect(pending.error_code).toBe("smtp_unreachable");
    // Redis loses everything, the mail job with it — while the job waits out its backoff (at
    // least 1.6 s after the third attempt), not in the middle of an attempt.
    const [built] = (await x.h.ds.query(`SELECT id FROM lethe.export WHERE request_id = $1`, [request.id])) as Array<{ id: string }>;
    await waitFor(
      async () => {
        const job = await x.mailQueue.getJob(mailJobId("export", built!.id));
        return job && (await job.getState()) === "delayed" ? true : undefined;
      },
      "the mail job to wait for its next attempt",
      30_000,
      20,
    );
    const lostAt = Date.now();
    expect(await x.h.deletePrefixKeys()).toBeGreaterThan(0);
    const exportId = (await x.h.waitForStatus(request.id, ["running"])).export!.id;
    // The waiting job is gone; a mail job there now can only be the reconciler's, added since.
    const now = await x.mailQueue.getJob(mailJobId("export", exportId));
    expect(now?.timestamp ?? lostAt).toBeGreaterThanOrEqual(lostAt);
    // SMTP comes back; the reconciler (its schedule upserted again) re-adds the mail job.
    const smtp = await x.restartSmtp();
    try {
      const view = await x.h.waitForStatus(request.id, ["completed", "failed"]);
      expect(view.status).toBe("completed");
      await mailSettled(exportId);
      expect(smtp.messages).toHaveLength(1);
      expect(smtp.messages[0]!.to).toEqual(["customer9@shop.example"]);
    } finally {
      await smtp.close();
    }
  });

  it("does not retry an SMTP 550: the request fails visibly with the code, not the address, and the file is deleted", async () => {
    const smtp = await x.restartSmtp({ rejectRcpt: 550 });
    try {
      const request = await x.submitExport({ email: "customer7@shop.example" });
      const view = await x.h.waitForStatus(request.id, ["completed", "failed"]);
      expect(view.status).toBe("failed");
      expect(view.error).toEqual({ code: "smtp_rejected", message: "the mail server refused the message (SMTP 550)" });
      expect(view.export).toMatchObject({ status: "failed", delivery: { status: "failed", attempts: 1, smtpCode: 550, errorCode: "smtp_rejected" } });
      await mailSettled(view.export!.id);
      expect(smtp.rcpts).toEqual(["customer7@shop.example"]);
      expect(smtp.messages).toHaveLength(0);

      const job = await x.mailQueue.getJob(mailJobId("export", view.export!.id));
      expect(await job?.getState()).toBe("failed");
      expect(job?.attemptsMade).toBe(1);
      expect(job?.failedReason).toBe("the mail server refused the message (SMTP 550)");

      const [row] = (await x.h.ds.query(
        `SELECT r.identities, e.path, e.deleted_at FROM lethe.subject_request r JOIN lethe.export e ON e.request_id = r.id WHERE r.id = $1`,
        [request.id],
      )) as Array<{
        identities: Buffer | null;
        path: string;
        deleted_at: Date | null;
      }>;
      expect(row!.identities).toBeNull();
      expect(row!.deleted_at).toBeInstanceOf(Date);
      expect(existsSync(join(x.exportDir, row!.path))).toBe(false);
      const audit = (await x.h.ds.query(`SELECT event, detail::text AS detail FROM lethe.audit_log WHERE request_id = $1 ORDER BY id`, [request.id])) as Array<{
        event: string;
        detail: string;
      }>;
      expect(audit.map((a) => a.event)).toEqual(["request.received", "export.built", "request.failed"]);
      for (const a of audit) expect(a.detail).not.toContain("customer7");
    } finally {
      await smtp.close();
    }
  });
});
