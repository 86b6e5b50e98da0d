import type { Command } from "commander";
import type * as RightsSession from "../rights-session";
import type * as Submit from "../../rights/submit";
import type * as Service from "../../requests/service";
import type * as Wait from "../submit-and-wait";
import type { RightsInput } from "../../rights/types";

/** Options every `lethe request <right>` command takes. */
interface Common {
  subject: string;
  by: string;
  idempotencyKey?: string;
  wait: boolean;
  timeout: string;
}

/** `--set field=value` (repeatable) into a list. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Records the request through the same service as the API, optionally waits, prints its view. */
async function submit(command: string, opts: Common, right: RightsInput): Promise<void> {
  const { withRightsServices } = require("../rights-session") as typeof RightsSession;
  const { submitRight } = require("../../rights/submit") as typeof Submit;
  const { getRequestView } = require("../../requests/service") as typeof Service;
  const { waitForFinal } = require("../submit-and-wait") as typeof Wait;
  await withRightsServices(command, async (s) => {
    const { request } = await submitRight(s, {
      subject: { [opts.by]: opts.subject },
      right,
      requestedBy: "cli",
      ...(opts.idempotencyKey ? { idempotencyKey: opts.idempotencyKey } : {}),
    });
    const view = opts.wait ? await waitForFinal(s.ds, request.id, Number(opts.timeout) * 1000) : await getRequestView(s.ds, request.id);
    if (opts.wait && view?.status !== "completed") process.exitCode = 1;
    return view;
  });
}

/** Adds the options every rights request takes. */
function common(c: Command): Command {
  return c
    .requiredOption("--subject <value>", "the subject's key (or an identity value with --by)")
    .option("--by <identity>", "name the subject by this identity instead of its key (e.g. email)", "id")
    .option("--idempotency-key <key>", "the same key returns the same request")
    .option("--wait", "wait until the request completes, fails or is refused, then print it", false)
    .option("--timeout <seconds>", "give up waiting after this long", "300");
}

/**
 * `lethe request rectification|restriction|objection|consent-withdrawal`: the other rights from a
 * terminal, through the same service as `POST /v1/requests`.
 */
export function registerRightsRequests(request: Command): void {
  common(request.command("rectification").description("correct fields of a subject (Art. 16): the copies declared in the data map follow, processors are told"))
    .option("--set <field=value>", "a field and its new value (repeatable)", collect, [])
    .option("--clear <field>", "empty a field (repeatable)", collect, [])
    .option("--contested", "the subject contests the accuracy: restrict them until it is done (Art. 18(1)(a))", false)
    .action(async (opts: Common & { set: string[]; clear: string[]; contested: boolean }) => {
      const changes = [
        ...opts.set.map((kv) => {
          const eq = kv.indexOf("=");
          if (eq <= 0) throw new Error(`--set ${kv}: write field=value`);
          return { field: kv.slice(0, eq), value: kv.slice(eq + 1) };
        }),
        ...opts.clear.map((field) => ({ field, value: null })),
      ];
      await submit("request rectification", opts, { type: "rectification", changes, contested: opts.contested });
    });
  common(request.command("restriction").description("restrict a subject's processing (Art. 18): sweeps skip them, exports mark them, processors are told"))
    .requiredOption("--ground <a|b|c|d>", "the ground of Art. 18(1)")
    .option("--purpose <name>", "restrict for this purpose of the data map only")
    .action(async (opts: Common & { ground: string; purpose?: string }) => {
      if (!["a", "b", "c", "d"].includes(opts.ground)) throw new Error("--ground must be a, b, c or d (Art. 18(1))");
      await submit("request restriction", opts, { type: "restriction", ground: opts.ground as "a", ...(opts.purpose ? { purpose: opts.purpose } : {}) });
    });
  common(request.command("objection").description("object to processing for a purpose (Art. 21): direct marketing stops at once; else a dpo decides"))
    .requiredOption("--purpose <name>", "the purpose of the data map objected to")
    .action(async (opts: Common & { purpose: string }) => {
      await submit("request objection", opts, { type: "objection", purpose: opts.purpose });
    });
  common(request.command("consent-withdrawal").description("withdraw consent to a purpose (Art. 7(3)): recorded in the consent ledger, processors told"))
    .requiredOption("--purpose <name>", "the purpose of the data map")
    .requiredOption("--source <text>", "where the withdrawal came from (e.g. support call)")
    .action(async (opts: Common & { purpose: string; source: string }) => {
      await submit("request consent-withdrawal", opts, { type: "consent-withdrawal", purpose: opts.purpose, source: opts.source });
    });
}
