import { createTransport } from "nodemailer";
import addressparser from "nodemailer/lib/addressparser";
import type { Config } from "../config";

/** One message as Lethe sends it. */
export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** `<…@…>`; the same on every attempt, so receivers can drop a duplicate. */
  messageId: string;
  headers?: Record<string, string>;
}

/** The process's SMTP transport. */
export interface MailTransport {
  /** Sends one message; rejects with nodemailer's error (classify it with `smtp-error`). `response`: the server's final answer. */
  send(mail: OutgoingMail): Promise<{ messageId: string; response?: string }>;
  /** Sends a message already built (`raw`: RFC 5322, CRLF lines, see `prepared-message`) to `to`, from LETHE_MAIL_FROM's address. */
  sendRaw(to: string, raw: Buffer): Promise<{ response?: string }>;
  /** Closes the pooled connections. */
  close(): void;
}

/** Pooled SMTP connections per worker process (nodemailer `pool: true`). (Default: 3) */
export const SMTP_POOL_SIZE = 3;

/**
 * One pooled SMTP transport per worker process, from SMTP_URL. Attachments from files or URLs
 * are disabled: Lethe's mail carries links, never files.
 */
export function createMailTransport(config: Pick<Config, "smtpUrl" | "mailFrom">): MailTransport {
  const transporter = createTransport({
    url: config.smtpUrl,
    pool: true,
    maxConnections: SMTP_POOL_SIZE,
    maxMessages: 100,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
    disableFileAccess: true,
    disableUrlAccess: true,
    logger: false,
  });
  const parsed = addressparser(config.mailFrom, { flatten: true })[0];
  const envelopeFrom = parsed && "address" in parsed ? parsed.address : config.mailFrom;
  return {
    async sendRaw(to, raw) {
      const info = await transporter.sendMail({ envelope: { from: envelopeFrom, to: [to] }, raw });
      return typeof info.response === "string" ? { response: info.response } : {};
    },
    async send(mail) {
      const info = await transporter.sendMail({
        from: config.mailFrom,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        messageId: mail.messageId,
        headers: { "Auto-Submitted": "auto-generated", ...mail.headers },
      });
      return { messageId: info.messageId, ...(typeof info.response === "string" ? { response: info.response } : {}) };
    },
    close() {
      transporter.close();
    },
  };
}
