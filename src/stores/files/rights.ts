import type { RightsKind } from "../rights-side";
import type { FilesStoreSpec } from "./schema";

/**
 * The rights side of the files kind. A rectification does not rewrite files: uploads and
 * generated documents (an invoice, a signed form) record what was true when they were made, and
 * Lethe cannot edit a PDF's contents safely. The store's part is recorded as not applicable, with
 * that reason, so the request says so instead of claiming a change.
 */
export const FILES_RIGHTS: RightsKind<FilesStoreSpec> = {
  isRecipient: false,
  open: () => ({
    async rectify() {
      return {
        state: "not_applicable",
        note: "files are not rewritten: uploads and generated documents record what was true when they were made; review them by hand if they hold the field",
      };
    },
  }),
};
