import type { DataSource } from "typeorm";
import { sealAuditLog } from "../src/audit/log";

/** Job name: links newly committed audit rows into the hash chain. */
export const NAME = "seal-audit";

/** Seals until nothing is left (bounded by `maxRounds` batches); returns rows sealed. */
export async function sealAudit(ds: DataSource, maxRounds = 20): Promise<{ sealed: number }> {
  let sealed = 0;
  for (let i = 0; i < maxRounds; i++) {
    const n = await sealAuditLog(ds);
    sealed += n;
    if (n === 0) break;
  }
  return { sealed };
}
