/**
 * Lethe's public surface as a library. Each area adds its exports here, grouped under a comment
 * (keep it to what users of the package need; internals stay unexported). Loading this module
 * loads no database, queue or store code: only the client, the checks and the types.
 */

// The typed HTTP client of Lethe's API, its errors and the wire types.
export { LetheClient } from "./client/client";
export type { ClientOptions } from "./client/transport";
export { LetheApiError, LetheTimeoutError, type Problem, type ProblemFieldError } from "./client/errors";
export type {
  ExportDownload,
  ExportView,
  HoldInput,
  HoldView,
  Readiness,
  ReleasedHold,
  RequestStatus,
  RequestType,
  RequestView,
  RetentionRunView,
  SubjectRef,
  SubmitInput,
  SubmitOptions,
  Submitted,
  WaitOptions,
} from "./client/types";
// The other rights (issue 13): inputs and views of rectification, restriction, objection, consent.
export type {
  ConsentEventView,
  FieldChangeInput,
  NoticeView,
  RecipientView,
  RestrictionView,
  RightsSubmitInput,
  RightsView,
  SubjectRightsView,
} from "./client/types";

// The breach register through the client (`lethe.incidents`): its methods and wire types.
export type { IncidentClient } from "./client/incidents";
export type {
  FanoutProgress,
  IncidentInput,
  IncidentView,
  NoticeVersion,
  NotificationPage,
  RenderedNotice,
  ReportVersion,
  ScopeInput,
  ScopeView,
} from "./client/types";

// Receipts: check the signed statement of an erasure (canonical JSON, Ed25519).
export { canonicalJson, verifyReceipt, type Receipt, type ReceiptPublicKey, type SignedReceipt } from "./receipts/verify-receipt";

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
  type RecipientEventBody,
} from "./webhook/protocol";

// Data maps: editor completion for `lethe.config.ts` files.
export { defineDataMap } from "./datamap/define-data-map";
export type { DataMap, DataMapInput } from "./datamap/schema";
export type { StepAction, StepCount } from "./types";
