import { z } from "zod";
import { parseBreachInput, requiredText } from "../breach/input-error";
import type { Config } from "../config";
import { recordPublicNoticeRow, type IncidentRow } from "../db/tables/incident";
import type { DataSource } from "typeorm";
import { IncidentConflictError } from "./errors";
import { advance, assertNotFinal, requireIncident } from "./register";

/** Body of a public communication (Art. 34(3)(c)): when and where it was published. */
export const PublicNoticeSchema = z.object({ givenAt: z.iso.datetime({ offset: true }).optional(), where: requiredText("where", 3, 2000) }).strict();

/**
 * Records that the controller informed the people by a public communication (a press release, a
 * banner on the site): required by the disproportionate-effort exemption, advised when too many
 * notices cannot be delivered. Audited; moves the status on when the guard allows.
 */
export async function recordPublicNotice(
  ds: DataSource,
  config: Pick<Config, "breachContactWipeHours">,
  id: string,
  input: unknown,
  by: string,
  now: Date,
): Promise<IncidentRow> {
  const body = parseBreachInput("public notice", PublicNoticeSchema, input);
  return ds.transaction(async (m) => {
    const row = await requireIncident(m, id, true);
    assertNotFinal(row, "record a public notice");
    const given = body.givenAt ? new Date(body.givenAt) : now;
    if (given.getTime() > now.getTime()) throw new IncidentConflictError("a public notice cannot be recorded before it was given");
    const updated = await recordPublicNoticeRow(m, row.id, by, { at: given, where: body.where });
    return advance(m, updated ?? row, by, config);
  });
}
