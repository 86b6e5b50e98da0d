import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import { decodeCursor, encodeCursor } from "../../console/cursor";
import { BANDS } from "../../console/deadline";
import { BadCursorError, listRequests, requestSummary } from "../../console/request-list";
import { retentionOverview } from "../../console/retention-overview";
import { listHoldRows } from "../../db/tables/legal-hold";
import type { RequestFilter, StatusFilter } from "../../db/tables/request-list";
import { listRunRows } from "../../db/tables/retention-run";
import { toRunView } from "../../retention/runs";
import type { RequestStatus, RequestType } from "../../types";
import { requireScope } from "../auth";
import { invalidRequest } from "../problem";
import { parseOrProblem } from "../validation";

/** Request types a list can filter on. */
export const LIST_TYPES = ["erasure", "export", "rectification", "restriction", "objection", "consent-withdrawal"] as const satisfies readonly RequestType[];
/** Statuses a list can filter on: the request statuses, `extended` and `not_found`. */
export const LIST_STATUSES = [
  "queued",
  "running",
  "held",
  "awaiting_decision",
  "failed",
  "completed",
  "refused",
  "extended",
  "not_found",
] as const satisfies readonly (RequestStatus | StatusFilter)[];

const bool = z.enum(["true", "false"], { error: "must be true or false" }).transform((s) => s === "true");
const limit = z.coerce
  .number({ error: "must be a number" })
  .int("must be a whole number")
  .min(1, "must be at least 1")
  .max(200, "must be at most 200")
  .default(50);
const cursor = z.string().min(1).max(200).optional();

/** Query of `GET /v1/requests`. */
export const REQUEST_LIST_QUERY = z
  .object({
    type: z.enum(LIST_TYPES, { error: `must be one of: ${LIST_TYPES.join(", ")}` }).optional(),
    status: z.enum(LIST_STATUSES, { error: `must be one of: ${LIST_STATUSES.join(", ")}` }).optional(),
    band: z.enum(BANDS, { error: `must be one of: ${BANDS.join(", ")}` }).optional(),
    state: z.enum(["open", "closed", "all"], { error: "must be open, closed or all" }).default("all"),
    dryRun: bool.default(false),
    limit,
    cursor,
  })
  .strict();

/** The request filter a parsed {@link REQUEST_LIST_QUERY} names (the API's list and the console's page). */
export function requestListFilter(q: z.output<typeof REQUEST_LIST_QUERY>): RequestFilter {
  return {
    state: q.state,
    dryRun: q.dryRun,
    ...(q.type ? { type: q.type } : {}),
    ...(q.status ? { status: q.status } : {}),
    ...(q.band ? { band: q.band } : {}),
  };
}

const HOLD_QUERY = z.object({ active: bool.optional(), limit, cursor }).strict();
const RUN_QUERY = z
  .object({
    policy: z.string().min(1).max(63).optional(),
    status: z.enum(["queued", "running", "completed", "failed"], { error: "must be queued, running, completed or failed" }).optional(),
    dryRun: bool.optional(),
    limit,
    cursor,
  })
  .strict();

function cursorOrProblem(value: string | undefined): { at: string; id: string } | null {
  if (value === undefined) return null;
  const decoded = decodeCursor(value);
  if (!decoded) throw invalidRequest([{ field: "cursor", message: new BadCursorError().message }]);
  return decoded;
}

/**
 * The lists behind the console (scope `console.read`): `GET /v1/requests` (by days left, filtered,
 * cursor-paged, with the open requests' summary), `GET /v1/holds`, `GET /v1/retention/runs` and
 * `GET /v1/retention/policies`. Register with `{ prefix: "/v1" }`.
 */
export const listRoutes: FastifyPluginAsync = async (app) => {
  const { ds, config, dataMap, queues, redis } = app.services;
  const read = { onRequest: requireScope(config.apiKeys, "console.read") };

  app.get("/requests", read, async (request) => {
    const q = parseOrProblem(REQUEST_LIST_QUERY, request.query);
    cursorOrProblem(q.cursor);
    const now = new Date();
    const filter = requestListFilter(q);
    const [page, summary] = await Promise.all([
      listRequests({ ds, dataMap, erasureQueue: queues.erasure, redis }, filter, { limit: q.limit, ...(q.cursor ? { cursor: q.cursor } : {}) }, now),
      requestSummary(ds, now, q.dryRun),
    ]);
    return { ...page, summary, at: now.toISOString() };
  });

  app.get("/holds", read, async (request) => {
    const q = parseOrProblem(HOLD_QUERY, request.query);
    const rows = await listHoldRows(ds, { ...(q.active !== undefined ? { active: q.active } : {}), limit: q.limit, before: cursorOrProblem(q.cursor) });
    const shown = rows.slice(0, q.limit);
    const last = shown[shown.length - 1];
    return {
      holds: shown.map((h) => ({
        id: h.id,
        ground: h.ground,
        until: h.until,
        createdAt: h.createdAt,
        releasedAt: h.releasedAt,
        active: h.active,
        waiting: h.waiting,
      })),
      nextCursor: rows.length > q.limit && last ? encodeCursor(last.createdKey, last.id) : null,
    };
  });

  app.get("/retention/runs", read, async (request) => {
    const q = parseOrProblem(RUN_QUERY, request.query);
    const rows = await listRunRows(ds, {
      ...(q.policy ? { policy: q.policy } : {}),
      ...(q.status ? { status: q.status } : {}),
      ...(q.dryRun !== undefined ? { dryRun: q.dryRun } : {}),
      limit: q.limit,
      before: cursorOrProblem(q.cursor),
    });
    const shown = rows.slice(0, q.limit);
    const last = shown[shown.length - 1];
    return { runs: shown.map((r) => toRunView(r)), nextCursor: rows.length > q.limit && last ? encodeCursor(last.created_key, last.id) : null };
  });

  app.get("/retention/policies", read, async () => ({ policies: await retentionOverview(ds, dataMap, new Date()) }));
};
