import type { QueryRunner } from "typeorm";
import { withSessionLock } from "../db/session-lock";
import { createBuildingExport, exportOfRequest, markExportReady, setExportPath } from "../db/tables/export";
import { restrictionsOfSubject } from "../db/tables/restriction";
import { completeWithoutSubject, exportRequest, markRunning, type ExportRequestRow } from "../db/tables/subject-request";
import { ERROR_CODES, PermanentError } from "../errors";
import type { Logger } from "../logger";
import { SEND_MAIL } from "../queues/jobs/send-mail";
import { openIdentities, sealIdentities, type SealedIdentities } from "../subject/sealed";
import type { Services } from "../services";
import type { SubjectSnapshot } from "../subject/snapshot";
import { matchOfIdentity } from "../subject/identity-match";
import { assertSameMap } from "../datamap/fingerprint";
import { ensureExportDir, exportFileName, exportFilePath } from "./files";
import { linkExpiry } from "./link-token";
import { writeExportZip } from "./write-export";
import { subjectHash } from "../subject/hashes";

/**
 * The life of an export request, build side (the `build-export` job):
 *
 *   queued → running: the subject is resolved and snapshotted (sealed on the request row);
 *   the zip is streamed to the export directory and the export row becomes `ready` (path, size,
 *   sha256, expiry); the `send-mail` job is enqueued. The request stays `running` until the mail
 *   is sent (`send-mail` completes it and wipes the identities): an access request is answered
 *   when the subject is told, and a refused mail must fail the request visibly.
 *
 * Every step is idempotent: a retry reuses the snapshot, rebuilds a zip that was not finished,
 * and only re-enqueues the mail job of a zip that was.
 */

/** What the job returns (ids and counts only). */
export type BuildOutcome =
  { status: "skipped" } | { status: "completed"; subjectFound: false } | { status: "ready"; exportId: string; rows: number; bytes: number; rebuilt: boolean };

/** What building an export uses of the process's services. */
type ExportServices = Pick<Services, "ds" | "config" | "dataMap" | "stores" | "queues" | "mapFingerprint">;

/** Marks the request running and, the first time, resolves and seals the subject's snapshot. */
async function snapshotOnce(rt: ExportServices, requestId: string, sealed: SealedIdentities): Promise<SubjectSnapshot | null> {
  if (sealed.identities && sealed.seed) {
    await markRunning(rt.ds, requestId);
    return { identities: sealed.identities, seed: sealed.seed, ...(sealed.contact ? { contact: sealed.contact } : {}) };
  }
  const store = rt.dataMap.subject.store;
  const adapter = rt.stores.adapter(store);
  if (!adapter.resolveSubject) throw new PermanentError(ERROR_CODES.dataMapInvalid, `store "${store}" cannot resolve subjects`);
  const snapshot = await adapter.resolveSubject(sealed.ref);
  const resealed = snapshot
    ? sealIdentities(rt.config.encryptionKey, {
        ref: sealed.ref,
        identities: snapshot.identities,
        seed: snapshot.seed,
        ...(snapshot.contact ? { contact: snapshot.contact } : {}),
      })
    : null;
  await markRunning(rt.ds, requestId, resealed);
  return snapshot;
}

/** No such subject: nothing to export or mail. The request completes saying so (the caller tells the subject). */
async function completeNotFound(rt: ExportServices, request: ExportRequestRow, sealed: SealedIdentities): Promise<void> {
  const hash = subjectHash(rt.config.hmacKey, sealed.ref.name, sealed.ref.value, matchOfIdentity(rt.dataMap.subject, sealed.ref.name));
  await completeWithoutSubject(rt.ds, {
    requestId: request.id,
    subjectHash: hash,
    detail: { subjectFound: false, identityHashes: { [sealed.ref.name]: hash } },
  });
}

/**
 * Builds the export of one request (see the module comment). Throws a {@link PermanentError}
 * when a retry cannot help (unknown request, a store that cannot be exported, a bad data map).
 */
export async function runBuildExport(rt: ExportServices, requestId: string, log: Logger, signal?: AbortSignal): Promise<BuildOutcome> {
  const request = await exportRequest(rt.ds, requestId);
  if (!request) throw new PermanentError(ERROR_CODES.unknownRequest, "unknown request id");
  if (request.type !== "export") throw new PermanentError(ERROR_CODES.badPayload, "the request is not an export");
  if (request.status === "completed" || request.status === "failed") return { status: "skipped" };
  assertSameMap(request.map_fingerprint, rt.mapFingerprint);
  if (!request.identities) throw new PermanentError(ERROR_CODES.badPayload, "request has no identities to work with");

  const sealed = openIdentities(rt.config.encryptionKey, request.identities);
  const snapshot = await snapshotOnce(rt, requestId, sealed);
  if (!snapshot) {
    log.info({ requestId }, "subject not found; nothing to export");
    await completeNotFound(rt, request, sealed);
    return { status: "completed", subjectFound: false };
  }

  // One builder per request: a stalled job taken over while its first worker still writes would
  // otherwise write the same file twice over.
  return withSessionLock(rt.ds, `lethe.export-build:${requestId}`, "another worker is building this export", (q) =>
    buildOnce(rt, q, request, snapshot, log, signal),
  );
}

/** The build itself, under the request's build lock, on the lock's connection (one Lethe connection per build). */
async function buildOnce(
  rt: ExportServices,
  db: Pick<QueryRunner, "query">,
  request: ExportRequestRow,
  snapshot: SubjectSnapshot,
  log: Logger,
  signal?: AbortSignal,
): Promise<BuildOutcome> {
  const requestId = request.id;
  const prior = await exportOfRequest(db, requestId);
  if (prior?.status === "ready") {
    await SEND_MAIL.enqueue(rt.queues.mail, rt.config, { kind: "export", exportId: prior.id });
    return { status: "ready", exportId: prior.id, rows: Number(prior.rows), bytes: Number(prior.size_bytes), rebuilt: false };
  }
  if (prior && prior.status !== "building") throw new PermanentError(ERROR_CODES.exportGone, `the export is ${prior.status}`);

  const exportId = prior?.id ?? (await createBuildingExport(db, requestId, rt.config.exportSingleUse));
  const path = exportFileName(exportId);
  await setExportPath(db, exportId, path);
  await ensureExportDir(rt.config.exportDir);

  const started = Date.now();
  // Art. 18: restricted data is marked in the archive (manifest and info sheet).
  const restrictions = (await restrictionsOfSubject(db, subjectHash(rt.config.hmacKey, "id", snapshot.identities.id!)))
    .filter((r) => r.status !== "lifted")
    .map((r) => ({ ground: r.ground, purpose: r.purpose, since: r.openedAt }));
  const written = await writeExportZip({
    restrictions,
    file: exportFilePath(rt.config.exportDir, path),
    exportId,
    requestId,
    dataMap: rt.dataMap,
    stores: rt.stores,
    snapshot,
    logger: log,
    ...(signal ? { signal } : {}),
  });
  const expiresAt = linkExpiry(new Date(Date.now() + rt.config.exportTtlHours * 3600_000));
  // One count per store and table: a files store's many entries (one per file) add up to one.
  const counts = new Map<string, { store: string; table?: string; rows: number }>();
  for (const e of written.manifest.entries) {
    if (e.store === undefined || e.contentType === "text/csv") continue;
    const id = JSON.stringify([e.store, e.table ?? null]);
    const c = counts.get(id) ?? { store: e.store, ...(e.table !== undefined ? { table: e.table } : {}), rows: 0 };
    c.rows += e.rows ?? 0;
    counts.set(id, c);
  }
  const tables = [...counts.values()];
  const detail = { exportId, entries: written.entries.length, rows: written.manifest.totals.rows, bytes: written.bytes };
  await markExportReady(db, {
    exportId,
    bytes: written.bytes,
    sha256: written.sha256,
    entries: written.entries.length,
    rows: written.manifest.totals.rows,
    tables,
    expiresAt,
    singleUse: rt.config.exportSingleUse,
    subjectHash: request.subject_hash,
    detail,
  });
  log.info({ requestId, exportId, rows: detail.rows, bytes: detail.bytes, ms: Date.now() - started }, "export built");
  await SEND_MAIL.enqueue(rt.queues.mail, rt.config, { kind: "export", exportId });
  return { status: "ready", exportId, rows: detail.rows, bytes: written.bytes, rebuilt: prior !== undefined };
}
