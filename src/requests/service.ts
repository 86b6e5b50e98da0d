import type { DataSource } from "typeorm";
import { matchOfIdentity } from "../subject/identity-match";
import type { SubjectRequest } from "../db/entities/subject-request";
import { holdSummary } from "../db/tables/legal-hold";
import { stepsOfRequest } from "../db/tables/request-store";
import { findRequest, insertRequest, requestByIdempotencyKey } from "../db/tables/subject-request";
import { getExportView } from "../exports/export-view";
import { openErasureTasks } from "../rights/recipient-list";
import { rightsSectionsOf } from "../rights/view";
import { BUILD_EXPORT } from "../queues/jobs/build-export";
import { enqueueRequest } from "../queues/jobs/erase-request";
import type { Queues, Services } from "../services";
import { RequestInputError } from "../errors";
import { subjectHash } from "../subject/hashes";
import { subjectRefOf } from "../subject/reference";
import { sealIdentities } from "../subject/sealed";
import type { RequestType } from "../types";
import { dueDateFor } from "./due-date";
import { toRequestView, type RequestView } from "./view";

/**
 * What submitting a request uses of the process's services: the erasure queue, and the export
 * queue where the process has one (without it an export request waits for the reconciler).
 */
export type RequestServices = Pick<Services, "ds" | "config" | "dataMap" | "logger" | "mapFingerprint"> & {
  queues: Pick<Queues, "erasure"> & Partial<Pick<Queues, "export">>;
};

/** A new request as the API or the CLI received it. */
export interface SubmitInput {
  type: RequestType;
  /** Exactly one entry: `id` or an identity of the data map's subject. */
  subject: Record<string, string>;
  dryRun?: boolean;
  idempotencyKey?: string;
  /** API key name (or `cli`). */
  requestedBy: string;
  /** When the subject made the request (an OpenDSR `submitted_time`): the Art. 12(3) clock starts there. (Default: now) */
  receivedAt?: Date;
}

/**
 * Records a request (outbox order: the row first, then the job). The same idempotency key from
 * the same caller returns the existing request (`created: false`). A Redis failure after the
 * row is written loses nothing: the reconciler enqueues it.
 */
export async function submitRequest(ctx: RequestServices, input: SubmitInput): Promise<{ request: SubjectRequest; created: boolean }> {
  const ref = subjectRefOf(ctx.dataMap, input.subject);
  if (input.type === "export" && input.dryRun) throw new RequestInputError("dryRun", "a preview exists for erasure requests only");
  const receivedAt = input.receivedAt ?? new Date();
  const hash = subjectHash(ctx.config.hmacKey, ref.name, ref.value, matchOfIdentity(ctx.dataMap.subject, ref.name));
  // One statement: the request row and its audit entry commit together.
  const row = await insertRequest(
    ctx.ds,
    {
      type: input.type,
      dryRun: input.dryRun ?? false,
      receivedAt,
      dueAt: dueDateFor(receivedAt),
      subjectHash: hash,
      identities: sealIdentities(ctx.config.encryptionKey, { ref }),
      requestedBy: input.requestedBy,
      idempotencyKey: input.idempotencyKey ?? null,
      mapFingerprint: ctx.mapFingerprint ?? null,
    },
    { type: input.type, dryRun: input.dryRun ?? false, by: ref.name },
  );
  if (!row) return { request: await requestByIdempotencyKey(ctx.ds, input.requestedBy, input.idempotencyKey!), created: false };
  // Art. 19: each recipient declared without a processor gets a manual task (processors get the erase call).
  if (input.type === "erasure" && !input.dryRun) await openErasureTasks(ctx.ds, ctx.dataMap, row.id);
  try {
    if (input.type === "export") {
      if (!ctx.queues.export) throw new Error("no export queue");
      await BUILD_EXPORT.enqueue(ctx.queues.export, ctx.config, { requestId: row.id });
    } else {
      await enqueueRequest(ctx.queues.erasure, ctx.config, row.id);
    }
  } catch (err) {
    ctx.logger.warn({ requestId: row.id, err }, "enqueue failed; the reconciler will enqueue the request");
  }
  return { request: row, created: true };
}

/** The public view of a request, or null when there is none with that id. */
export async function getRequestView(ds: DataSource, id: string): Promise<RequestView | null> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return null;
  const request = await findRequest(ds, id);
  if (!request) return null;
  const steps = await stepsOfRequest(ds, id);
  const view = toRequestView(request, steps, request.type === "export" ? await getExportView(ds, id) : null);
  if (request.holdId) {
    const hold = await holdSummary(ds, request.holdId);
    if (hold) view.hold = { id: hold.id, ground: hold.ground, until: hold.until ? hold.until.toISOString() : null };
  }
  return { ...view, ...(await rightsSectionsOf(ds, request)) };
}
