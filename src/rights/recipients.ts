import { encryptJson } from "../crypto";
import type { DataMap } from "../datamap/schema";
import { isRecipientStore, shortField } from "../datamap/rights";
import type { NewRecipientEvent } from "../db/tables/recipient-event";
import { kindOf } from "../stores/registry";
import type { FieldChange, RecipientAction, RecipientMessage } from "../stores/rights-side";
import type { SubjectSnapshot } from "../subject/snapshot";

/**
 * Who is told of a request (Art. 19, and the purposes' processors for Art. 21 and 7(3)), and the
 * one event each gets: a processor (a store whose kind is a recipient) a sealed message with only
 * what the data map lets it see; a recipient declared without a processor a manual task.
 */

/** One recipient of an action. */
export interface Recipient {
  /** A store name (a processor) or a declared recipient's name (manual). */
  name: string;
  channel: "webhook" | "manual";
}

/** The idempotency key of one event: `<action>-<requestId>-<recipient>` (the erase call's form). */
export function eventKeyOf(action: RecipientAction, requestId: string, recipient: string): string {
  return `${action}-${requestId}-${recipient}`;
}

/**
 * The recipients of `action`. Erasure, rectification and restriction (and its lift) go to every
 * processor and every recipient declared without one (Art. 19); an objection or a consent
 * withdrawal goes to the processors of its purpose and the manual recipients declared for it.
 */
export function recipientsOf(map: DataMap, action: RecipientAction, purpose: string | null = null): Recipient[] {
  const perPurpose = action === "object" || action === "withdraw-consent";
  const declared = perPurpose ? map.purposes.find((p) => p.name === purpose) : undefined;
  const processors = perPurpose ? (declared?.processors ?? []) : Object.keys(map.stores).filter((s) => isRecipientStore(map, s));
  const manual = map.recipients.filter((r) => r.store === undefined && (!perPurpose || r.purpose === purpose));
  return [...processors.map((name): Recipient => ({ name, channel: "webhook" })), ...manual.map((r): Recipient => ({ name: r.name, channel: "manual" }))];
}

/** What an event says beyond its action: a rectification's changes, a restriction, a purpose. */
export interface EventContent {
  changes?: FieldChange[];
  restriction?: { ground: string; purpose: string | null };
  purpose?: string;
}

/**
 * The events of `action` for a request: each processor's message sealed with `key` (identities it
 * may see, changed fields it holds), `skipped` with a reason when it may see nothing that
 * concerns it; a manual task for each other recipient.
 */
export function buildEvents(
  map: DataMap,
  key: Buffer,
  e: { requestId: string; action: RecipientAction; snapshot: SubjectSnapshot; content: EventContent; recipients: Recipient[] },
): NewRecipientEvent[] {
  return e.recipients.map((r): NewRecipientEvent => {
    const base = { requestId: e.requestId, recipient: r.name, action: e.action, idempotencyKey: eventKeyOf(e.action, e.requestId, r.name) };
    if (r.channel === "manual") return { ...base, channel: "manual", status: "open", payload: null, reason: null, deadlineMs: null };
    const spec = map.stores[r.name]!;
    const side = kindOf(spec).rights!;
    const subject: Record<string, string> = {};
    for (const name of side.sharedIdentities?.(spec as never) ?? []) {
      const v = e.snapshot.identities[name];
      if (v !== undefined && v !== "") subject[name] = v;
    }
    const skipped = (reason: string): NewRecipientEvent => ({ ...base, channel: "webhook", status: "skipped", payload: null, reason, deadlineMs: null });
    if (Object.keys(subject).length === 0) return skipped("no_identity_shared");
    const message: RecipientMessage = { action: e.action, requestId: e.requestId, idempotencyKey: base.idempotencyKey, subject };
    if (e.content.changes) {
      const shared = new Set((side.sharedFields?.(spec as never) ?? []).map((f) => shortField(map, f)));
      const changes = e.content.changes.filter((c) => shared.has(c.field)).map((c) => ({ field: c.field, value: c.erase ? null : c.value }));
      if (changes.length === 0) return skipped("no_field_shared");
      message.changes = changes;
    }
    if (e.content.restriction) message.restriction = e.content.restriction;
    if (e.content.purpose !== undefined) message.purpose = e.content.purpose;
    return {
      ...base,
      channel: "webhook",
      status: "pending",
      payload: encryptJson(key, message),
      reason: null,
      deadlineMs: side.deadlineMs?.(spec as never) ?? null,
    };
  });
}
