import { ERROR_CODES, PermanentError } from "../errors";
import type { Logger } from "../logger";
import { exportForMail } from "../db/tables/export";
import type { Sql } from "../db/tables/sql";
import { completeAfterMail } from "../db/tables/subject-request";
import { deliverOnce } from "../mail/delivery";
import { renderMail } from "../mail/templates";
import { openIdentities } from "../subject/sealed";
import type { Services } from "../services";
import { downloadUrl, signExportToken } from "./link-token";
import { subjectHash } from "../subject/hashes";
import { contactEmailOf } from "../subject/contact";
import { matchOfIdentity } from "../subject/identity-match";

/** Placeholders the export templates may use. */
export const EXPORT_TEMPLATE_VARS = ["link", "expiresAt", "size", "requestId", "controllerName", "controllerContact"] as const;

/** The delivery key of an export's mail. */
export function exportDeliveryKey(exportId: string): string {
  return `export:${exportId}`;
}

/** What the job returns (ids only). */
export type ExportMailOutcome =
  { status: "sent"; exportId: string; attempt: number; resent: boolean } | { status: "skipped"; exportId: string; reason: string };

/**
 * Sends the download link of a ready export to the subject, once (see `mail/delivery`). The
 * address is the subject's contact email (`subject.contact.email`; maps without a contact: the
 * `email` identity) from the request's sealed snapshot, never from the job. When the mail
 * is out, one statement marks it sent, completes the request, wipes its identities and writes
 * the audit entry.
 */
export async function sendExportMail(
  services: Pick<Services, "ds" | "config" | "dataMap" | "mail">,
  exportId: string,
  log: Logger,
): Promise<ExportMailOutcome> {
  const mailer = services.mail;
  if (!mailer) throw new Error("this process does not send mail (it does not run the mail queue)");
  const row = await exportForMail(services.ds, exportId);
  if (!row) throw new PermanentError(ERROR_CODES.unknownRequest, "unknown export id");
  if (row.request_status === "completed" || row.request_status === "failed") return { status: "skipped", exportId, reason: `request ${row.request_status}` };
  if (row.status !== "ready" || !row.expires_at) throw new PermanentError(ERROR_CODES.exportNotReady, `the export is ${row.status}`);
  if (row.expires_at.getTime() <= Date.now()) throw new PermanentError(ERROR_CODES.exportExpired, "the download link expired before the mail could be sent");
  if (!row.identities) throw new PermanentError(ERROR_CODES.badPayload, "request has no identities to work with");

  const sealed = openIdentities(services.config.encryptionKey, row.identities);
  const identities = sealed.identities ?? {};
  const to = contactEmailOf(sealed);
  if (!to) {
    throw new PermanentError(
      ERROR_CODES.noRecipient,
      "the subject has no email address to send the link to (declare subject.contact.email in the data map, or the row has none)",
    );
  }
  const controller = services.dataMap.controller;
  const mail = renderMail(mailer.templates.export, {
    link: downloadUrl(services.config.publicUrl, row.id, signExportToken(services.config.hmacKey, row.id, row.expires_at)),
    expiresAt: row.expires_at
      .toISOString()
      .replace("T", " ")
      .replace(/\.\d+Z$/, ""),
    size: humanSize(Number(row.size_bytes ?? 0)),
    requestId: row.request_id,
    controllerName: controller?.name ?? "us",
    controllerContact: controller?.contact ?? "us",
  });
  const messageId = `<export-${row.id}@${mailDomain(services.config.mailFrom)}>`;
  const key = exportDeliveryKey(row.id);
  const hashes: Record<string, string> = {};
  for (const [name, value] of Object.entries(identities))
    hashes[name] = subjectHash(services.config.hmacKey, name, value, matchOfIdentity(services.dataMap.subject, name));

  const markSent = (q: Sql, sentId: string): Promise<void> =>
    completeAfterMail(q, {
      deliveryKey: key,
      messageId: sentId,
      requestId: row.request_id,
      subjectHash: hashes.id ?? row.subject_hash,
      detail: { exportId: row.id, delivery: key, subjectFound: true, identityHashes: hashes },
    });
  const result = await deliverOnce(
    services.ds,
    { key, kind: "export", requestId: row.request_id },
    () => mailer.transport.send({ to, ...mail, messageId }),
    markSent,
  );
  if (result.state === "already-sent") {
    // A previous attempt sent it; make sure the request says so (idempotent).
    await markSent(services.ds, messageId);
    return { status: "skipped", exportId, reason: "already sent" };
  }
  if (result.state === "already-failed") throw new PermanentError(ERROR_CODES.mailFailed, "the export's mail failed earlier");
  log.info({ exportId, requestId: row.request_id, attempt: result.attempt, resent: result.resent }, "export mail sent");
  return { status: "sent", exportId, attempt: result.attempt, resent: result.resent };
}

/** The domain of the From address (for Message-IDs), `localhost` when there is none. */
export function mailDomain(from: string): string {
  const m = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from);
  return m ? m[1]! : "localhost";
}

/** `7712` → "7.7 kB", `17000000` → "17.0 MB" (decimal units, as mail clients show them). */
export function humanSize(bytes: number): string {
  if (bytes < 1000) return `${bytes} bytes`;
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(1)} kB`;
  if (bytes < 1e9) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${(bytes / 1e9).toFixed(2)} GB`;
}
