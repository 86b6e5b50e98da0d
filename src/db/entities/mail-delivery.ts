import { EntitySchema } from "typeorm";

/**
 * One message's delivery state. `sending` is written (committed) before the SMTP transaction and
 * `sent` after it, so a retried job that finds `sent` does nothing.
 */
export type DeliveryStatus = "pending" | "sending" | "sent" | "failed";

/** A delivery row. The recipient address is never stored here. */
export interface MailDelivery {
  /** What is delivered: `export:<exportId>`, later `breach:<incident>:<subject>`. */
  key: string;
  /** The message kind (`export`, ...). */
  kind: string;
  requestId: string | null;
  status: DeliveryStatus;
  /** SMTP transactions started (a resend after a crash mid-send counts again). */
  attempts: number;
  /** Last SMTP reply code when the server refused or deferred the message. */
  smtpCode: number | null;
  /** Last failure's code (`smtp_rejected`, `smtp_deferred`, a network code); no personal data. */
  errorCode: string | null;
  /** The Message-ID sent, the same on every attempt so receivers can deduplicate. */
  messageId: string | null;
  createdAt: Date;
  updatedAt: Date;
  sentAt: Date | null;
}

/** TypeORM mapping of {@link MailDelivery}. */
export const MailDeliveryEntity = new EntitySchema<MailDelivery>({
  name: "MailDelivery",
  tableName: "mail_delivery",
  schema: "lethe",
  columns: {
    key: { type: "text", primary: true },
    kind: { type: "text" },
    requestId: { type: "uuid", name: "request_id", nullable: true },
    status: { type: "text" },
    attempts: { type: "integer", default: 0 },
    smtpCode: { type: "integer", name: "smtp_code", nullable: true },
    errorCode: { type: "text", name: "error_code", nullable: true },
    messageId: { type: "text", name: "message_id", nullable: true },
    createdAt: { type: "timestamptz", name: "created_at", createDate: true },
    updatedAt: { type: "timestamptz", name: "updated_at", updateDate: true },
    sentAt: { type: "timestamptz", name: "sent_at", nullable: true },
  },
});
