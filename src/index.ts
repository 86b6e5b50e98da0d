/**
 * Lethe's public surface as a library. Each area adds its exports here, grouped under a comment
 * (keep it to what users of the package need; internals stay unexported).
 */

// Webhook stores: helpers and types for processors that receive Lethe's signed calls.
export { signLethePayload, verifyLetheSignature, type VerifySignatureInput } from "./webhook/verify-signature";
export {
  DEFAULT_TOLERANCE_SEC,
  IDEMPOTENCY_HEADER,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  type AcceptedBody,
  type ProcessorAction,
  type ProcessorCallBody,
  type ProcessorStatusBody,
} from "./webhook/protocol";

// Data maps: editor completion for `lethe.config.ts` files.
export { defineDataMap, type DataMapInput } from "./datamap/schema";
