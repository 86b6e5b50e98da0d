import type { Config } from "../config";
import type { OpenDsrRequestRow } from "../db/tables/opendsr-request";
import { downloadUrl, linkExpiry, signExportToken } from "../exports/link-token";
import { OPENDSR_API_VERSION, type StatusBody } from "./protocol";

/**
 * The status of an OpenDSR request as Lethe the processor reports it (§8.3; the callback of §8.6
 * adds `status_callback_url`). A completed access or portability request carries `results_url`,
 * the export's signed download link (the same link the subject is mailed), and `results_count`,
 * the rows exported. `status` overrides the row's current status (a callback reports the status
 * it was enqueued for).
 */
export function statusBodyOf(row: OpenDsrRequestRow, config: Pick<Config, "hmacKey" | "publicUrl">, extra: { statusCallbackUrl?: string } = {}): StatusBody {
  const body: StatusBody = {
    controller_id: row.controllerId,
    expected_completion_time: row.expectedAt.toISOString(),
    subject_request_id: row.subjectRequestId,
    request_status: row.status,
    api_version: OPENDSR_API_VERSION,
  };
  if (extra.statusCallbackUrl) body.status_callback_url = extra.statusCallbackUrl;
  if (row.status === "completed" && row.type !== "erasure" && row.export) {
    const expiresAt = linkExpiry(row.export.expiresAt);
    body.results_url = downloadUrl(config.publicUrl, row.export.id, signExportToken(config.hmacKey, row.export.id, expiresAt));
    body.results_count = row.export.rows;
  }
  return body;
}
