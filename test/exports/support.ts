import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "bullmq";
import type { FastifyInstance } from "fastify";
import { buildServer } from "../../src/http/server";
import { QUEUES } from "../../src/queues/names";
import { submitRequest } from "../../src/requests/service";
import type { SubjectRequest } from "../../src/db/entities/subject-request";
import { freePort } from "../../support/free-port";
import { TEST_KEYS } from "../helpers/config";
import { createHarness, type HarnessOptions, type LetheHarness } from "../helpers/harness";
import { startSmtpCatcher, type SmtpCatcher, type SmtpCatcherOptions } from "../helpers/smtp";

/** A harness for export tests: an SMTP catcher, an export directory, the API listening, an export queue. */
export interface ExportHarness {
  h: LetheHarness;
  smtp: SmtpCatcher;
  /** Port the SMTP catcher listens on (or will, when started later). */
  smtpPort: number;
  exportDir: string;
  exportQueue: Queue;
  mailQueue: Queue;
  /** The API, listening on `apiUrl` (= LETHE_PUBLIC_URL). */
  api: FastifyInstance;
  apiUrl: string;
  /** Submits an export request in-process (as `requestedBy: "test"`). */
  submitExport(subject: Record<string, string>): Promise<SubjectRequest>;
  /** Starts the SMTP catcher again on the same port (after `smtp.close()`). */
  restartSmtp(options?: SmtpCatcherOptions): Promise<SmtpCatcher>;
  cleanup(): Promise<void>;
}

/** Options: the harness's, plus the SMTP catcher's (`smtp: null` starts none). */
export interface ExportHarnessOptions extends HarnessOptions {
  smtp?: SmtpCatcherOptions | null;
}

/** Builds an {@link ExportHarness}. Pair with `cleanup()`. */
export async function createExportHarness(options: ExportHarnessOptions): Promise<ExportHarness> {
  const exportDir = mkdtempSync(join(tmpdir(), "lethe-exports-"));
  const smtpPort = options.smtp?.port ?? (await freePort());
  let smtp: SmtpCatcher | null = options.smtp === null ? null : await startSmtpCatcher({ ...options.smtp, port: smtpPort });
  const apiPort = await freePort();
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  let h: LetheHarness | undefined;
  let exportQueue: Queue | undefined;
  let mailQueue: Queue | undefined;
  let api: FastifyInstance | undefined;
  const cleanup = async (): Promise<void> => {
    await api?.close();
    await exportQueue?.close();
    await mailQueue?.close();
    await h?.cleanup();
    await smtp?.close();
    rmSync(exportDir, { recursive: true, force: true });
  };
  try {
    h = await createHarness({
      ...options,
      env: {
        SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
        LETHE_EXPORT_DIR: exportDir,
        LETHE_PUBLIC_URL: apiUrl,
        LETHE_MAIL_FROM: "Example Shop <privacy@shop.example>",
        ...options.env,
      },
    });
    const hh = h;
    exportQueue = new Queue(QUEUES.export, { connection: hh.redis, prefix: hh.config.queuePrefix });
    mailQueue = new Queue(QUEUES.mail, { connection: hh.redis, prefix: hh.config.queuePrefix });
    const eq = exportQueue;
    api = await buildServer({
      ds: hh.ds,
      config: hh.config,
      dataMap: hh.dataMap,
      queues: { erasure: hh.erasureQueue, maintenance: hh.maintenanceQueue, export: eq, mail: mailQueue },
      redis: hh.redis,
      logger: hh.logger,
    });
    await api.listen({ host: "127.0.0.1", port: apiPort });
    return {
      h: hh,
      get smtp() {
        if (!smtp) throw new Error("the SMTP catcher is not running");
        return smtp;
      },
      smtpPort,
      exportDir,
      exportQueue: eq,
      mailQueue,
      api,
      apiUrl,
      submitExport: async (subject) =>
        (
          await submitRequest(
            { ds: hh.ds, config: hh.config, dataMap: hh.dataMap, queues: { erasure: hh.erasureQueue, export: eq }, logger: hh.logger },
            { type: "export", subject, requestedBy: "test" },
          )
        ).request,
      async restartSmtp(opts = {}) {
        smtp = await startSmtpCatcher({ ...opts, port: smtpPort });
        return smtp;
      },
      cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** The download link in a message's text part. */
export function linkIn(text: string | undefined): string {
  const m = /(https?:\/\/\S+\/v1\/exports\/[0-9a-f-]{36}\/download\?token=\S+)/.exec(text ?? "");
  if (!m) throw new Error("no download link in the message");
  return m[1]!;
}

/** `Authorization` header of the test writer key. */
export const WRITER = { authorization: `Bearer ${TEST_KEYS.writer}` };
