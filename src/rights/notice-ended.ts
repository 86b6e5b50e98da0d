import { tellLift } from "./restrictions";
import type { RightsServices } from "./services";
import { settleRequest } from "./settle";

/**
 * What follows a notice that ended (sent or failed): the restriction it lifted has its processors
 * told (`lift-restriction`), and the request it belongs to is settled (it may be complete now).
 */
export async function afterNotice(
  s: Pick<RightsServices, "ds" | "config" | "dataMap" | "queues">,
  n: { requestId: string; liftedRestriction: string | null },
): Promise<void> {
  if (n.liftedRestriction) await tellLift(s, n.liftedRestriction);
  await settleRequest(s, n.requestId);
}
