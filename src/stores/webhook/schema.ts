import { z } from "zod";
import { durationMs, ISO_DURATION } from "./duration";

/**
 * The data-map declaration of a webhook store: a third-party processor (CRM, mailing list,
 * payments) told over signed HTTP to erase a subject (Art. 17, 19). The wire protocol is in
 * `docs/webhook-protocol.md`. URL and secret rules that need the interpolated values (`${VAR}`)
 * are `lethe check` rules (`stores/webhook/check-webhook`), not schema rules.
 */

const identityName = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[A-Za-z_][A-Za-z0-9_$]*$/, "must be an identity name of subject.identities, or id");

/** A webhook store (a processor). */
export const WEBHOOK_STORE_SCHEMA = z
  .object({
    kind: z.literal("webhook"),
    /** Where Lethe POSTs the erase call; `${VAR}` is replaced from the environment. https, or http on localhost only. */
    url: z.string().min(1),
    /** Shared HMAC-SHA256 secret (at least 16 characters); write it as `${VAR}` so it stays out of the file. */
    secret: z.string(),
    /** Which snapshot identities the processor may see (`id` only when listed). */
    identities: z
      .array(identityName)
      .min(1, "list at least one identity the processor knows the subject by")
      .refine((l) => new Set(l).size === l.length, "an identity is listed twice"),
    /** Whether a 202 may name a `statusUrl` Lethe polls (a signed GET) until it answers done. (Default: false) */
    statusUrl: z.boolean().default(false),
    /** How long the processor has to confirm, from the first attempt (ISO 8601: weeks, days, hours, minutes, seconds). (Default: P3D) */
    deadline: z
      .string()
      .regex(ISO_DURATION, "must be an ISO 8601 duration in weeks, days, hours, minutes or seconds, e.g. P7D or PT12H")
      .refine((d) => durationMs(d) !== 0, "must be longer than zero")
      .default("P3D"),
    /** Timeout of one HTTP call, in milliseconds. (Default: 10000) */
    timeoutMs: z.number().int().min(100).max(300_000).default(10_000),
    /** How long an accepted (202) call waits before Lethe looks again (row, then status URL), in milliseconds. (Default: 5000) */
    pollIntervalMs: z.number().int().min(100).default(5000),
    /** Why the processor receives personal data (Art. 30). */
    purpose: z.string().optional(),
    /**
     * The subject's fields the processor holds (data-map field names, e.g. `email`, `full_name`):
     * a rectification of one of them is sent with its new value (`rectify`); others are not sent. (Default: none)
     */
    fields: z.array(z.string().min(1)).default([]),
  })
  .strict();
/** A webhook store declaration. */
export type WebhookStoreSpec = z.infer<typeof WEBHOOK_STORE_SCHEMA>;

/** The declaration of `store` when it is a webhook store of the data map, else null. */
export function webhookStoreOf(map: { stores: Record<string, { kind: string }> }, store: string): WebhookStoreSpec | null {
  const spec = map.stores[store];
  return spec?.kind === "webhook" ? (spec as WebhookStoreSpec) : null;
}
