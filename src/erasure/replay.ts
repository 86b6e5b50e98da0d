import type { StoreAdapter } from "../stores/store-kind";
import { identityHashes } from "../subject/hashes";
import type { SubjectIdentities } from "../subject/identity-match";

/** What a replay found: keys (as text) of subjects the ledger says were erased. Held in memory only. */
export interface ReplayScan {
  scanned: number;
  found: string[];
}

/**
 * Walks every subject of the subject's (restored) store and returns the keys of those whose key
 * or identity hashes (each normalised by its identity's match rule from `subject`, as the ledger
 * was written) are in the erasure ledger: people a restored backup brought back. Memory:
 * one batch of subjects plus the ledger's hashes.
 */
export async function scanForErased(
  subjectStore: StoreAdapter,
  ledger: Set<string>,
  hmacKey: Buffer,
  batch = 5000,
  subject?: SubjectIdentities,
): Promise<ReplayScan> {
  if (!subjectStore.scanSubjects) throw new Error("replay needs the subject's store to list its subjects");
  const found: string[] = [];
  const { scanned } = await subjectStore.scanSubjects((subjects) => {
    for (const present of subjects) {
      if (Object.values(identityHashes(hmacKey, present, subject)).some((h) => ledger.has(h))) found.push(present.id!);
    }
  }, batch);
  return { scanned, found };
}
