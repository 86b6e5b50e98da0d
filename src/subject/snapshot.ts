import type { SubjectContact } from "./contact";

/** The subject as snapshotted before anything is destroyed. Sealed on the request row. */
export interface SubjectSnapshot {
  /** `id` and each identity of the data map, as text. */
  identities: Record<string, string>;
  /** The subject row's link columns, to re-derive its rows after it is gone. */
  seed: Record<string, string | null>;
  /** Where mail to the subject goes (`subject.contact`), when the row has it. */
  contact?: SubjectContact;
}
