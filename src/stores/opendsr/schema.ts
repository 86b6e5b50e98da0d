import { z } from "zod";
import { IDENTITY_FORMATS, IDENTITY_TYPES } from "../../opendsr/protocol";
import { durationMs, ISO_DURATION } from "../webhook/duration";

/**
 * The data-map declaration of an `opendsr` store: a processor that implements OpenDSR 2.0
 * (mParticle, AppsFlyer, Singular, another Lethe). Lethe is its controller: it sends `POST
 * requests` with the identities listed here, verifies every signed answer against the processor's
 * certificate, and learns completion from signed callbacks or by polling. docs/opendsr.md.
 */

const identityName = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[A-Za-z_][A-Za-z0-9_$]*$/, "must be an identity name of subject.identities, or id");

/** One identity the processor may receive: the data map's identity, as an OpenDSR type and format. */
export const OPENDSR_IDENTITY_SCHEMA = z
  .object({
    /** The data map's identity (`email`, or `id` for the subject key). */
    identity: identityName,
    /** The OpenDSR identity type it is sent as (e.g. `email`, `controller_customer_id`). */
    type: z.enum(IDENTITY_TYPES),
    /** `raw`, or `sha256` (the hex digest of the value normalised by its match rule). (Default: raw) */
    format: z.enum(["raw", "sha256"] as const satisfies ReadonlyArray<(typeof IDENTITY_FORMATS)[number]>).default("raw"),
  })
  .strict();

/** An opendsr store (a processor speaking OpenDSR 2.0). */
export const OPENDSR_STORE_SCHEMA = z
  .object({
    kind: z.literal("opendsr"),
    /** Base URL of the processor's OpenDSR API, up to the version (e.g. `https://opendsr.processor.com/v2`); `${VAR}` is replaced. https, or http on localhost only. */
    url: z.string().min(1),
    /** Bearer token of the processor's API, when it wants one; write it as `${VAR}`. (Default: none) */
    apiKey: z.string().optional(),
    /** The domain its certificate and `X-OpenDSR-Processor-Domain` must name. (Default: the host of `url`) */
    domain: z.string().min(1).optional(),
    /** The identities the processor may receive, in order. Only these leave Lethe. */
    identities: z
      .array(OPENDSR_IDENTITY_SCHEMA)
      .min(1, "list at least one identity the processor knows the subject by")
      .refine((l) => new Set(l.map((i) => `${i.identity}/${i.type}/${i.format}`)).size === l.length, "an identity is listed twice"),
    /** How the processor's certificate is trusted. */
    tls: z
      .object({
        /** PEM file of the authority to trust instead of the system's (a private CA). */
        caFile: z.string().min(1).optional(),
        /** Accept a self-signed certificate (against OpenDSR §4.1: for a test processor only). (Default: false) */
        allowSelfSigned: z.boolean().default(false),
      })
      .strict()
      .default({ allowSelfSigned: false }),
    /** How long the processor has to complete, from the first attempt (ISO 8601 weeks…seconds). (Default: P30D) */
    deadline: z
      .string()
      .regex(ISO_DURATION, "must be an ISO 8601 duration in weeks, days, hours, minutes or seconds, e.g. P30D")
      .refine((d) => durationMs(d) !== 0, "must be longer than zero")
      .default("P30D"),
    /** Timeout of one HTTP call, in milliseconds. (Default: 10000) */
    timeoutMs: z.number().int().min(100).max(300_000).default(10_000),
    /** How often an accepted request's status is polled, in milliseconds (callbacks wake it sooner). (Default: 300000) */
    pollIntervalMs: z.number().int().min(100).default(300_000),
    /** Why the processor receives personal data (Art. 30). */
    purpose: z.string().optional(),
  })
  .strict();
/** An opendsr store declaration. */
export type OpenDsrStoreSpec = z.infer<typeof OPENDSR_STORE_SCHEMA>;

/** The declaration of `store` when it is an opendsr store of the data map, else null. */
export function openDsrStoreOf(map: { stores: Record<string, { kind: string }> }, store: string): OpenDsrStoreSpec | null {
  const spec = map.stores[store];
  return spec?.kind === "opendsr" ? (spec as OpenDsrStoreSpec) : null;
}

/** The domain a store's processor signs as. */
export function processorDomainOf(spec: OpenDsrStoreSpec): string {
  return spec.domain ?? new URL(spec.url).hostname;
}
