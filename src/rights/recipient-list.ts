import type { DataSource } from "typeorm";
import { eventsOfRequest, insertRecipientEvents, settleRecipientEvent, type RecipientEventView } from "../db/tables/recipient-event";
import { findRequest, resumeAfterRecipient } from "../db/tables/subject-request";
import { ERROR_CODES } from "../errors";
import { idempotencyKeyOf } from "../webhook/protocol";
import type { RecipientAction } from "../stores/rights-side";
import type { StoreSet } from "../stores/store-set";
import type { DataMap } from "../datamap/schema";
import { buildEvents, recipientsOf } from "./recipients";
import type { RightsServices } from "./services";
import { settleRequest } from "./settle";

/** One recipient of a request as `GET /v1/requests/:id/recipients` lists it (no personal data). */
export interface RecipientView {
  recipient: string;
  action: RecipientAction;
  channel: "webhook" | "manual";
  idempotencyKey: string;
  status: string;
  attempts: number;
  lastHttpStatus: number | null;
  errorCode: string | null;
  /** A skipped event's reason code, or why telling this recipient was impossible or disproportionate. */
  reason: string | null;
  decidedBy: string | null;
  endedAt: string | null;
}

const fromEvent = (e: RecipientEventView): RecipientView => ({
  recipient: e.recipient,
  action: e.action,
  channel: e.channel,
  idempotencyKey: e.idempotencyKey,
  status: e.status,
  attempts: e.attempts,
  lastHttpStatus: e.lastHttpStatus,
  errorCode: e.errorCode,
  reason: e.reason,
  decidedBy: e.decidedBy,
  endedAt: e.endedAt,
});

/** An erasure's manual tasks (recipients declared without a processor), created once (idempotent). */
export async function openErasureTasks(ds: Pick<DataSource, "query">, map: DataMap, requestId: string): Promise<void> {
  const manual = recipientsOf(map, "erase").filter((r) => r.channel === "manual");
  if (manual.length === 0) return;
  const events = buildEvents(map, Buffer.alloc(32), { requestId, action: "erase", snapshot: { identities: {}, seed: {} }, content: {}, recipients: manual });
  await insertRecipientEvents(ds, events);
}

/**
 * Every recipient of a request and how it was told (Art. 19: so the controller can tell the
 * person who they are): its processors' events (an erasure's erase calls, as the erase side
 * records them) and manual tasks. Null when there is no such request.
 */
export async function recipientsOfRequest(s: { ds: DataSource; dataMap: DataMap; stores: StoreSet }, requestId: string): Promise<RecipientView[] | null> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(requestId)) return null;
  const request = await findRequest(s.ds, requestId);
  if (!request) return null;
  const out: RecipientView[] = [];
  if (request.type === "erasure" && !request.dryRun) {
    await openErasureTasks(s.ds, s.dataMap, requestId);
    for (const r of recipientsOf(s.dataMap, "erase").filter((x) => x.channel === "webhook")) {
      const call = await s.stores.rights(r.name)?.erasureCall?.(requestId);
      out.push({
        recipient: r.name,
        action: "erase",
        channel: "webhook",
        idempotencyKey: call?.idempotencyKey ?? idempotencyKeyOf(requestId, r.name),
        status: call?.status ?? "pending",
        attempts: call?.attempts ?? 0,
        lastHttpStatus: call?.lastHttpStatus ?? null,
        errorCode: call?.errorCode ?? null,
        reason: null,
        decidedBy: null,
        endedAt: null,
      });
    }
  }
  out.push(...(await eventsOfRequest(s.ds, requestId)).map(fromEvent));
  return out;
}

/** Why a recipient could not be settled by hand. */
export type SettleRefusal = "not-found" | "not-open";

/**
 * A person records how a recipient was dealt with: `done` (told by hand) or `impossible` (with
 * the reason: impossible or disproportionate effort, Art. 19). Then the request is settled (a
 * request that failed only because of this recipient completes).
 */
export async function settleRecipient(
  s: RightsServices,
  requestId: string,
  key: { recipient: string; action: RecipientAction },
  r: { status: "done" | "impossible"; reason: string | null; by: string },
): Promise<"settled" | SettleRefusal> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(requestId)) return "not-found";
  const ok = await settleRecipientEvent(s.ds, { requestId, ...key }, r);
  if (!ok) return (await eventsOfRequest(s.ds, requestId)).some((e) => e.recipient === key.recipient && e.action === key.action) ? "not-open" : "not-found";
  await resumeAfterRecipient(s.ds, requestId, ERROR_CODES.recipientFailed);
  await settleRequest(s, requestId);
  return "settled";
}
