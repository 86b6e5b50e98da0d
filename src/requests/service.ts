import type { DataSource } from "typeorm";
import { subjectHash } from "../crypto";
import type { DataMap } from "../datamap/schema";
import { RequestStepEntity } from "../db/entities/request-step";
import { SubjectRequestEntity, type SubjectRequest } from "../db/entities/subject-request";
import { getExportView } from "../exports/export-view";
import { BUILD_EXPORT } from "../queues/jobs/build-export";
import { enqueueRequest } from "../queues/jobs/erase-request";
import type { Queues, Services } from "../services";
import type { RequestType } from "../types";
import { dueDateFor } from "./due-date";
import { sealIdentities } from "./identities";
import { toRequestView, type RequestView } from "./view";

/** A request that cannot be accepted; `field` names the offending input (e.g. `subject.phone`). */
export class RequestInputError extends Error {
  override readonly name = "RequestInputError";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * What submitting a request uses of the process's services: the erasure queue, and the export
 * queue where the process has one (without it an export request waits for the reconciler).
 */
export type RequestServices = Pick<Services, "ds" | "config" | "dataMap" | "logger"> & { queues: Pick<Queues, "erasure"> & Partial<Pick<Queues, "export">> };

/** A new request as the API or the CLI received it. */
export interface SubmitInput {
  type: RequestType;
  /** Exactly one entry: `id` or an identity of the data map's subject. */
  subject: Record<string, string>;
  dryRun?: boolean;
  idempotencyKey?: string;
  /** API key name (or `cli`). */
  requestedBy: string;
}

/** Checks the subject reference against the data map; returns its identity name and value. */
export function subjectRefOf(dataMap: DataMap, subject: Record<string, string>): { name: string; value: string } {
  const entries = Object.entries(subject);
  if (entries.length !== 1)
    throw new RequestInputError("subject", "name the subject by exactly one of: id, " + Object.keys(dataMap.subject.identities).join(", "));
  const [name, value] = entries[0]!;
  if (name !== "id" && !(name in dataMap.subject.identities)) {
    const known = ["id", ...Object.keys(dataMap.subject.identities)].join(", ");
    throw new RequestInputError(`subject.${name}`, `unknown identity "${name}"; the data map knows: ${known}`);
  }
  if (typeof value !== "string" || value.trim() === "") throw new RequestInputError(`subject.${name}`, "must be a non-empty string");
  return { name, value };
}

/**
 * Records a request (outbox order: the row first, then the job). The same idempotency key from
 * the same caller returns the existing request (`created: false`). A Redis failure after the
 * row is written loses nothing: the reconciler enqueues it.
 */
export async function submitRequest(ctx: RequestServices, input: SubmitInput): Promise<{ request: SubjectRequest; created: boolean }> {
  const ref = subjectRefOf(ctx.dataMap, input.subject);
  if (input.type === "export" && input.dryRun) throw new RequestInputError("dryRun", "a preview exists for erasure requests only");
  const receivedAt = new Date();
  const hash = subjectHash(ctx.config.hmacKey, ref.name, ref.value);
  // One statement: the request row and its audit entry commit together.
  const rows = (await ctx.ds.query(
    `WITH ins AS (
       INSERT INTO lethe.subject_request (type, status, dry_run, received_at, due_at, subject_hash, identities, requested_by, idempotency_key)
       VALUES ($1, 'queued', $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (requested_by, idempotency_key) DO NOTHING RETURNING *),
     audit AS (
       INSERT INTO lethe.audit_log (event, request_id, subject_hash, actor, detail)
       SELECT 'request.received', id, subject_hash, requested_by, $9 FROM ins)
     SELECT * FROM ins`,
    [
      input.type,
      input.dryRun ?? false,
      receivedAt,
      dueDateFor(receivedAt),
      hash,
      sealIdentities(ctx.config.encryptionKey, { ref }),
      input.requestedBy,
      input.idempotencyKey ?? null,
      JSON.stringify({ type: input.type, dryRun: input.dryRun ?? false, by: ref.name }),
    ],
  )) as RequestRow[];
  const row = rows[0];
  if (!row) {
    const existing = await ctx.ds
      .getRepository(SubjectRequestEntity)
      .findOneByOrFail({ requestedBy: input.requestedBy, idempotencyKey: input.idempotencyKey! });
    return { request: existing, created: false };
  }
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
  return { request: fromRow(row), created: true };
}

/** A `lethe.subject_request` row as the driver returns it. */
interface RequestRow {
  id: string;
  type: SubjectRequest["type"];
  status: SubjectRequest["status"];
  dry_run: boolean;
  received_at: Date;
  due_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
  subject_hash: string;
  identities: Buffer | null;
  requested_by: string;
  idempotency_key: string | null;
  error_code: string | null;
  error_message: string | null;
  result: SubjectRequest["result"];
  hold_id: string | null;
  updated_at: Date;
}

function fromRow(r: RequestRow): SubjectRequest {
  return {
    id: r.id,
    type: r.type,
    status: r.status,
    dryRun: r.dry_run,
    receivedAt: r.received_at,
    dueAt: r.due_at,
    startedAt: r.started_at,
    completedAt: r.completed_at,
    subjectHash: r.subject_hash,
    identities: r.identities,
    requestedBy: r.requested_by,
    idempotencyKey: r.idempotency_key,
    errorCode: r.error_code,
    errorMessage: r.error_message,
    result: r.result,
    holdId: r.hold_id,
    updatedAt: r.updated_at,
  };
}

/** The public view of a request, or null when there is none with that id. */
export async function getRequestView(ds: DataSource, id: string): Promise<RequestView | null> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return null;
  const request = await ds.getRepository(SubjectRequestEntity).findOneBy({ id });
  if (!request) return null;
  const steps = await ds.getRepository(RequestStepEntity).find({ where: { requestId: id }, order: { id: "ASC" } });
  const view = toRequestView(request, steps, request.type === "export" ? await getExportView(ds, id) : null);
  if (request.holdId) {
    const holds = (await ds.query(`SELECT id, ground, until FROM lethe.legal_hold WHERE id = $1`, [request.holdId])) as Array<{
      id: string;
      ground: string;
      until: Date | null;
    }>;
    if (holds[0]) view.hold = { id: holds[0].id, ground: holds[0].ground, until: holds[0].until ? holds[0].until.toISOString() : null };
  }
  return view;
}
