import type { RequestStatus } from "../types";

/** True once a request can change no more (`completed`, `failed`, or `refused` under Art. 12(4)). */
export function isFinal(status: RequestStatus): boolean {
  return status === "completed" || status === "failed" || status === "refused";
}
