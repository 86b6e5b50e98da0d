import { z } from "zod";

/**
 * OpenDSR 2.0 (formerly OpenGDPR; github.com/opengdpr/OpenDSR, `specification.md`): the wire
 * objects both directions use. Terminology: the **controller** sends requests, the **processor**
 * fulfils them and signs every answer and callback; a request is named by its
 * `subject_request_id` (a lowercase UUID v4 the controller generates).
 */

/** The `api_version` Lethe speaks. */
export const OPENDSR_API_VERSION = "2.0";

/** Header naming the domain the signing certificate was issued for (§8.3). */
export const DOMAIN_HEADER = "x-opendsr-processor-domain";
/** Header carrying the base64 signature of the body (§8.3). */
export const SIGNATURE_HEADER = "x-opendsr-signature";
/** The OpenGDPR name of {@link DOMAIN_HEADER} (§10.1: prior names are honoured; sent alongside, read as a fallback). */
export const LEGACY_DOMAIN_HEADER = "x-opengdpr-processor-domain";
/** The OpenGDPR name of {@link SIGNATURE_HEADER}. */
export const LEGACY_SIGNATURE_HEADER = "x-opengdpr-signature";

/** Identity type keys of §5.1. */
export const IDENTITY_TYPES = [
  "controller_customer_id",
  "android_advertising_id",
  "android_id",
  "email",
  "fire_advertising_id",
  "ios_advertising_id",
  "ios_vendor_id",
  "microsoft_advertising_id",
  "microsoft_publisher_id",
  "roku_publisher_id",
  "roku_advertising_id",
] as const;
/** One identity type of §5.1. */
export type IdentityType = (typeof IDENTITY_TYPES)[number];

/** Identity formats of §5.2. */
export const IDENTITY_FORMATS = ["raw", "sha1", "md5", "sha256"] as const;
/** One identity format of §5.2. */
export type IdentityFormat = (typeof IDENTITY_FORMATS)[number];

/** Subject request types of §6.2. */
export const REQUEST_TYPES = ["erasure", "access", "portability"] as const;
/** One subject request type. */
export type OpenDsrRequestType = (typeof REQUEST_TYPES)[number];

/** Request statuses of §8. */
export const REQUEST_STATUSES = ["pending", "in_progress", "completed", "cancelled"] as const;
/** One request status. */
export type OpenDsrStatus = (typeof REQUEST_STATUSES)[number];

/** Lowercase UUID v4, as §1.1 requires of every GUID. */
export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** An RFC 3339 date-time with a zone (`Z` or an offset). */
const rfc3339 = z.iso.datetime({ offset: true, error: "must be an RFC 3339 date-time such as 2018-10-02T15:00:00Z" });
const uuidV4 = z.string({ error: "is required" }).regex(UUID_V4, "must be a lowercase UUID v4");
const httpUrl = z.url({ protocol: /^https?$/, error: "must be an http(s) URL" });

/** An identity object of §5.3. */
export const IDENTITY_SCHEMA = z
  .object({
    identity_type: z.enum(IDENTITY_TYPES, { error: `must be one of: ${IDENTITY_TYPES.join(", ")}` }),
    identity_value: z.string({ error: "is required" }).min(1, "must not be empty").max(1000, "must be at most 1000 characters"),
    identity_format: z.enum(IDENTITY_FORMATS, { error: `must be one of: ${IDENTITY_FORMATS.join(", ")}` }),
  })
  .strict();
/** An identity object. */
export type OpenDsrIdentity = z.infer<typeof IDENTITY_SCHEMA>;

/** The body of `POST /requests` (§7.1.1). Unknown top-level fields are refused (a typo is a 400, not ignored). */
export const REQUEST_BODY_SCHEMA = z
  .object(
    {
      regulation: z.enum(["gdpr", "ccpa"], { error: 'must be "gdpr" or "ccpa"' }).optional(),
      subject_request_id: uuidV4,
      subject_request_type: z.enum(REQUEST_TYPES, { error: `must be one of: ${REQUEST_TYPES.join(", ")}` }),
      subject_identities: z.array(IDENTITY_SCHEMA, { error: "must be an array of identity objects" }).min(1, "name at least one identity").max(20).optional(),
      submitted_time: rfc3339,
      api_version: z.string().max(16).optional(),
      status_callback_urls: z.array(httpUrl, { error: "must be an array of URLs" }).max(10, "at most 10 callback URLs").optional(),
      extensions: z.record(z.string(), z.unknown()).optional(),
    },
    { error: "send a JSON object (OpenDSR request)" },
  )
  .strict();
/** A validated OpenDSR request. */
export type OpenDsrRequestBody = z.infer<typeof REQUEST_BODY_SCHEMA>;

/** The 201 body of `POST /requests` (§7.3), before `processor_signature` is added. */
export interface CreatedBody {
  controller_id: string;
  expected_completion_time: string;
  received_time: string;
  encoded_request: string;
  subject_request_id: string;
  processor_signature?: string;
}

/** The status body (§8.3); also the callback body (§8.6) with `status_callback_url`. */
export const STATUS_BODY_SCHEMA = z
  .object({
    controller_id: z.string(),
    expected_completion_time: rfc3339,
    subject_request_id: uuidV4,
    request_status: z.enum(REQUEST_STATUSES),
    api_version: z.string().optional(),
    results_url: httpUrl.optional(),
    results_count: z.number().int().min(0).optional(),
    status_callback_url: httpUrl.optional(),
    processor_signature: z.string().optional(),
  })
  .loose();
/** A status or callback body. */
export type StatusBody = z.infer<typeof STATUS_BODY_SCHEMA>;

/** The 201 answer as a controller reads it (§7.3). */
export const CREATED_BODY_SCHEMA = z
  .object({
    controller_id: z.string(),
    expected_completion_time: rfc3339,
    received_time: rfc3339,
    encoded_request: z.string(),
    subject_request_id: uuidV4,
    processor_signature: z.string().optional(),
  })
  .loose();

/** The 202 body of `DELETE /requests/:id` (§9.2). */
export interface CancelledBody {
  controller_id: string;
  subject_request_id: string;
  received_time: string;
  api_version: string;
  processor_signature?: string;
}

/** The discovery body (§6.3). */
export const DISCOVERY_SCHEMA = z
  .object({
    api_version: z.string(),
    supported_identities: z.array(z.object({ identity_type: z.string(), identity_format: z.string() }).loose()),
    supported_subject_request_types: z.array(z.string()),
    processor_certificate: httpUrl,
  })
  .loose();
/** A discovery answer. */
export type DiscoveryBody = z.infer<typeof DISCOVERY_SCHEMA>;

/** One detail of the error object (§7.6). */
export interface ErrorDetail {
  domain: string;
  reason: string;
  message: string;
}

/** The error object of §7.6, as `{ error: … }`. */
export const ERROR_BODY_SCHEMA = z.object({
  error: z.object({
    code: z.number().int(),
    message: z.string().optional(),
    errors: z.array(z.object({ domain: z.string(), reason: z.string(), message: z.string() })).optional(),
  }),
});
