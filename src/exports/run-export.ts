import type { QueryRunner } from "typeorm";
import { subjectHash } from "../crypto";
import { withSessionLock } from "../db/session-lock";
import { ERROR_CODES, PermanentError } from "../errors";
import type { Logger } from "../logger";
import { SEND_MAIL } from "../queues/jobs/send-mail";
import { openIdentities, sealIdentities, type SealedIdentities } from "../requests/identities";
import type { Services } from "../services";
import type { SubjectSnapshot } from "../subject/snapshot";
import { ensureExportDir, exportFileName, exportFilePath } from "./files";
import { linkExpiry } from "./link-token";
import { writeExportZip } from "./write-export";

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
type ExportServices = Pick<Services, "ds" | "config" | "dataMap" | "stores" | "queues">;

interface RequestRow {
  id: string;
  type: string;
  status: string;
  subject_hash: string;
  identities: Buffer | null;
}

/** Marks the request running and, the first time, resolves and seals the subject's snapshot. */
async function snapshotOnce(rt: ExportServices, requestId: string, sealed: SealedIdentities): Promise<SubjectSnapshot | null> {
  const running = `UPDATE lethe.subject_request SET status = 'running', started_at = coalesce(started_at, now()), updated_at = now()`;
  if (sealed.identities && sealed.seed) {
    await rt.ds.query(`${running} WHERE id = $1 AND status IN ('queued', 'running')`, [requestId]);
    return { identities: sealed.identities, seed: sealed.seed };
  }
  const store = rt.dataMap.subject.store;
  const adapter = rt.stores.adapter(store);
  if (!adapter.resolveSubject) throw new PermanentError(ERROR_CODES.dataMapInvalid, `store "${store}" cannot resolve subjects`);
  const snapshot = await adapter.resolveSubject(sealed.ref);
  const resealed = snapshot ? sealIdentities(rt.config.encryptionKey, { ref: sealed.ref, identities: snapshot.identities, seed: snapshot.seed }) : null;
  await rt.ds.query(`${running}, identities = coalesce($2, identities) WHERE id = $1 AND status IN ('queued', 'running')`, [requestId, resealed]);
  return snapshot;
}

/** No such subject: nothing to export or mail. The request completes saying so (the caller tells the subject). */
async function completeWithoutSubject(rt: ExportServices, request: RequestRow, sealed: SealedIdentities): Promise<void> {
  const hash = subjectHash(rt.config.hmacKey, sealed.ref.name, sealed.ref.value);
  await rt.ds.query(
    `WITH req AS (
       UPDATE lethe.subject_request SET status = 'completed', completed_at = now(), identities = NULL, result = $2, updated_at = now()
        WHERE id = $1 AND status NOT IN ('completed', 'failed') RETURNING id)
     INSERT INTO lethe.audit_log (event, request_id, subject_hash, actor, detail)
     SELECT 'export.completed', id, $3, 'worker', $4 FROM req`,
    [
      request.id,
      JSON.stringify({ steps: [], subjectFound: false }),
      hash,
      JSON.stringify({ subjectFound: false, identityHashes: { [sealed.ref.name]: hash } }),
    ],
  );
}

/**
 * Builds the export of one request (see the module comment). Throws a {@link PermanentError}
 * when a retry cannot help (unknown request, a store that cannot be exported, a bad data map).
 */
export async function runBuildExport(rt: ExportServices, requestId: string, log: Logger, signal?: AbortSignal): Promise<BuildOutcome> {
  const rows = (await rt.ds.query(`SELECT id, type, status, subject_hash, identities FROM lethe.subject_request WHERE id = $1`, [requestId])) as RequestRow[];
  const request = rows[0];
  if (!request) throw new PermanentError(ERROR_CODES.unknownRequest, "unknown request id");
  if (request.type !== "export") throw new PermanentError(ERROR_CODES.badPayload, "the request is not an export");
  if (request.status === "completed" || request.status === "failed") return { status: "skipped" };
  if (!request.identities) throw new PermanentError(ERROR_CODES.badPayload, "request has no identities to work with");

  const sealed = openIdentities(rt.config.encryptionKey, request.identities);
  const snapshot = await snapshotOnce(rt, requestId, sealed);
  if (!snapshot) {
    log.info({ requestId }, "subject not found; nothing to export");
    await completeWithoutSubject(rt, request, sealed);
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
  request: RequestRow,
  snapshot: SubjectSnapshot,
  log: Logger,
  signal?: AbortSignal,
): Promise<BuildOutcome> {
  const requestId = request.id;
  const existing = (await db.query(`SELECT id, status, rows, size_bytes FROM lethe.export WHERE request_id = $1`, [requestId])) as Array<{
    id: string;
    status: string;
    rows: string | null;
    size_bytes: string | null;
  }>;
  const prior = existing[0];
  if (prior?.status === "ready") {
    await SEND_MAIL.enqueue(rt.queues.mail, rt.config, { kind: "export", exportId: prior.id });
    return { status: "ready", exportId: prior.id, rows: Number(prior.rows), bytes: Number(prior.size_bytes), rebuilt: false };
  }
  if (prior && prior.status !== "building") throw new PermanentError("export_gone", `the export is ${prior.status}`);

  const exportId =
    prior?.id ??
    (
      (await db.query(
        `INSERT INTO lethe.export (request_id, status, path, single_use) VALUES ($1, 'building', '', $2)
       ON CONFLICT (request_id) DO UPDATE SET status = lethe.export.status RETURNING id`,
        [requestId, rt.config.exportSingleUse],
      )) as Array<{ id: string }>
    )[0]!.id;
  const path = exportFileName(exportId);
  await db.query(`UPDATE lethe.export SET path = $2 WHERE id = $1`, [exportId, path]);
  await ensureExportDir(rt.config.exportDir);

  const started = Date.now();
  const written = await writeExportZip({
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
  await db.query(
    `WITH ex AS (
       UPDATE lethe.export SET status = 'ready', size_bytes = $2, sha256 = $3, entries = $4, rows = $5, tables = $6,
              ready_at = now(), expires_at = $7, single_use = $8
        WHERE id = $1 AND status = 'building' RETURNING request_id)
     INSERT INTO lethe.audit_log (event, request_id, subject_hash, actor, detail)
     SELECT 'export.built', ex.request_id, $9, 'worker', $10 FROM ex`,
    [
      exportId,
      written.bytes,
      written.sha256,
      written.entries.length,
      written.manifest.totals.rows,
      JSON.stringify(tables),
      expiresAt,
      rt.config.exportSingleUse,
      request.subject_hash,
      JSON.stringify(detail),
    ],
  );
  log.info({ requestId, exportId, rows: detail.rows, bytes: detail.bytes, ms: Date.now() - started }, "export built");
  await SEND_MAIL.enqueue(rt.queues.mail, rt.config, { kind: "export", exportId });
  return { status: "ready", exportId, rows: detail.rows, bytes: written.bytes, rebuilt: prior !== undefined };
}
