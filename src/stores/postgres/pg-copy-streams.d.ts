/** Types of pg-copy-streams 7 (ships none): COPY … TO STDOUT as a Readable. */
declare module "pg-copy-streams" {
  import type { Readable, ReadableOptions } from "node:stream";
  import type { Connection } from "pg";

  /** A `COPY … TO STDOUT` query; pass it to `client.query()`, read it as a stream. */
  export class CopyToStreamQuery extends Readable {
    /** Rows copied, known once the server's CommandComplete has been handled. */
    rowCount: number;
    submit(connection: Connection): void;
  }

  /** Creates a `COPY … TO STDOUT` stream for `text` (no bind parameters: COPY takes none). */
  export function to(text: string, options?: ReadableOptions): CopyToStreamQuery;
}
