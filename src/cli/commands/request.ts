import type { Command } from "commander";
import type * as SubmitAndWait from "../submit-and-wait";
import { registerExportRequest } from "./request-export";
import { registerRightsRequests } from "./request-rights";
/** `lethe request erasure --subject <id>`: records and enqueues a request, optionally waits for it. */
export function register(program: Command): void {
  const request = program.command("request").description("make a data-subject request");
  registerExportRequest(request);
  registerRightsRequests(request);
  request
    .command("erasure")
    .description("erase a subject from every store of the data map")
    .requiredOption("--subject <value>", "the subject's key (or an identity value with --by)")
    .option("--by <identity>", "name the subject by this identity instead of its key (e.g. email)", "id")
    .option("--dry-run", "preview: counts per table, nothing changed", false)
    .option("--idempotency-key <key>", "the same key returns the same request")
    .option("--wait", "wait until the request completes or fails, then print it (exit 3: no subject matched)", false)
    .option("--timeout <seconds>", "give up waiting after this long", "300")
    .action(async (opts: { subject: string; by: string; dryRun: boolean; idempotencyKey?: string; wait: boolean; timeout: string }) => {
      const { submitFromCli } = require("../submit-and-wait") as typeof SubmitAndWait;
      await submitFromCli(
        { type: "erasure", subject: { [opts.by]: opts.subject }, dryRun: opts.dryRun, ...(opts.idempotencyKey ? { idempotencyKey: opts.idempotencyKey } : {}) },
        { wait: opts.wait, timeoutSec: Number(opts.timeout) },
      );
    });
}
