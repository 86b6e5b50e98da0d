import type { Command } from "commander";
import type * as SubmitAndWait from "../submit-and-wait";
/**
 * `lethe request export --subject <id>`: records an access/portability request; a worker builds
 * the zip and emails the subject a signed, expiring link. `--wait` waits until the mail is sent.
 */
export function registerExportRequest(request: Command): void {
  request
    .command("export")
    .description("export a subject's data (Art. 15/20): a zip, emailed to the subject as a signed, expiring link")
    .requiredOption("--subject <value>", "the subject's key (or an identity value with --by)")
    .option("--by <identity>", "name the subject by this identity instead of its key (e.g. email)", "id")
    .option("--idempotency-key <key>", "the same key returns the same request")
    .option("--wait", "wait until the link is sent or the request fails, then print it (exit 3: no subject matched)", false)
    .option("--timeout <seconds>", "give up waiting after this long", "600")
    .action(async (opts: { subject: string; by: string; idempotencyKey?: string; wait: boolean; timeout: string }) => {
      const { submitFromCli } = require("../submit-and-wait") as typeof SubmitAndWait;
      await submitFromCli(
        { type: "export", subject: { [opts.by]: opts.subject }, ...(opts.idempotencyKey ? { idempotencyKey: opts.idempotencyKey } : {}) },
        { wait: opts.wait, timeoutSec: Number(opts.timeout) },
      );
    });
}
