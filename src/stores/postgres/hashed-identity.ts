import type { Pool } from "pg";
import type { DataMap } from "../../datamap/schema";
import { ERROR_CODES, PermanentError } from "../../errors";
import { identityByName } from "../../subject/identity-match";
import { qualified, quoteIdent } from "./ident";
import { matchedColumnSql } from "./identity-sql";
import type { StorePlan } from "./store-plan";

/**
 * Finds the subject whose identity `name`, normalised by its match rule (`lower(btrim(x))` for
 * emails), has the SHA-256 digest `sha256Hex` (OpenDSR `identity_format: "sha256"`); returns the
 * subject key as text, or null. The digest is computed inside Postgres over the UTF-8 bytes of the
 * compared form. `convert_to` is not immutable, so no expression index can serve it: this reads
 * the subject table's identity column (one pass, nothing else), under a statement timeout.
 */
export async function findByHashedIdentity(
  pool: Pool,
  plan: StorePlan,
  map: DataMap,
  name: string,
  sha256Hex: string,
  timeoutMs = 30_000,
): Promise<string | null> {
  const identity = identityByName(map.subject, name);
  if (!identity) throw new PermanentError(ERROR_CODES.badPayload, `unknown identity "${name}"`);
  if (!/^[0-9a-f]{64}$/i.test(sha256Hex)) return null;
  const digest = `encode(sha256(convert_to(${matchedColumnSql(quoteIdent(identity.column), identity.match)}::text, 'UTF8')), 'hex')`;
  const client = await pool.connect();
  try {
    await client.query("BEGIN READ ONLY");
    await client.query(`SET LOCAL statement_timeout = ${Math.max(1000, Math.floor(timeoutMs))}`);
    const res = await client.query<{ key: string }>(
      `SELECT ${quoteIdent(map.subject.key)}::text AS key FROM ${qualified(plan.schemaName, plan.subjectTable)} WHERE ${digest} = lower($1) LIMIT 2`,
      [sha256Hex],
    );
    await client.query("COMMIT");
    if (res.rows.length > 1) throw new PermanentError(ERROR_CODES.subjectAmbiguous, `more than one subject row matches the given ${name} digest`);
    return res.rows[0]?.key ?? null;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
