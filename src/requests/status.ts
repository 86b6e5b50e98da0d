import type { RequestStatus } from "../types";

/** True once a request can change no more (`completed` or `failed`). */
export function isFinal(status: RequestStatus): boolean {
  return status === "completed" || status === "failed";
}
