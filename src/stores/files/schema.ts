import { z } from "zod";

/**
 * The data-map declaration of a directory tree of the application's files (uploads, avatars,
 * generated documents): path patterns under one root, with `{id}` / `{<identity>}` placeholders.
 */

/** A directory of files holding personal data. */
export const FILES_STORE_SCHEMA = z
  .object({
    kind: z.literal("files"),
    /** Absolute directory the patterns are relative to; `${VAR}` is replaced from the environment. Never left. */
    root: z.string().min(1),
    /** Relative path patterns: `*` and `?` within a segment, `**` any depth, e.g. `avatars/{id}.*`, `uploads/{id}/**`. */
    paths: z.array(z.string().min(1)).min(1),
    /** Why this store holds personal data (Art. 30). */
    purpose: z.string().optional(),
  })
  .strict();
/** A files store declaration. */
export type FilesStoreSpec = z.infer<typeof FILES_STORE_SCHEMA>;
