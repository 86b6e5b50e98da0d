import type { Command } from "commander";
import type * as Decide from "../../rights/decide";
import type * as Extend from "../../rights/extend";
import type * as RecipientList from "../../rights/recipient-list";
import type * as Restrictions from "../../rights/restrictions";
import type * as SubjectStatus from "../../rights/subject-status";
import type * as RestrictionTable from "../../db/tables/restriction";
import type * as RightsSession from "../rights-session";
import type * as Refusals from "../../rights/refusals";
import type { RecipientAction } from "../../stores/rights-side";

/** Loaded when a command runs, so `lethe --help` stays fast. */
const session = () => require("../rights-session") as typeof RightsSession;
/** The refusal as a person reads it. */
const why = (outcome: Parameters<typeof Refusals.refusalMessage>[0]): string => (require("../../rights/refusals") as typeof Refusals).refusalMessage(outcome);

/** A subject named on the command line: `--subject <value> [--by <identity>]`. */
const subjectOf = (opts: { subject: string; by: string }): Record<string, string> => ({ [opts.by]: opts.subject });

/**
 * `lethe rights …`: the controller's side of the rights from a terminal (what a `dpo` API key
 * does, acting as `cli`): extend, refuse, approve, reject, decide, recipients, settle, lift, and
 * the subject's restrictions and consents. Output is JSON; a refusal exits 1 with the reason.
 */
export function register(program: Command): void {
  const rights = program.command("rights").description("decide on requests and restrictions (the dpo's side), look up a subject's restrictions and consents");
  const by = "cli";

  rights
    .command("extend")
    .description("extend a request once, before its due date, by 1 or 2 months (Art. 12(3)); the person is told")
    .argument("<request-id>")
    .requiredOption("--months <n>", "1 or 2")
    .requiredOption("--reason <text>", "why more time is needed (sent to the person)")
    .action(async (id: string, opts: { months: string; reason: string }) => {
      const { extendRequest } = require("../../rights/extend") as typeof Extend;
      const { withRightsServices, refused } = session();
      await withRightsServices("rights extend", async (s) => {
        if (opts.months !== "1" && opts.months !== "2") return refused("rights extend", "--months must be 1 or 2");
        if (opts.reason.trim() === "") return refused("rights extend", "--reason must not be empty");
        const out = await extendRequest(s, id, { months: Number(opts.months) as 1 | 2, reason: opts.reason, by });
        return typeof out === "string" ? refused("rights extend", why(out)) : { id, dueAt: out.dueAt.toISOString(), noticeId: out.noticeId };
      });
    });

  rights
    .command("refuse")
    .description("refuse a request that has not started (Art. 12(4)); the person is told, with their right to complain")
    .argument("<request-id>")
    .requiredOption("--reason <text>", "why (sent to the person)")
    .action(async (id: string, opts: { reason: string }) => {
      const { refuseRequest } = require("../../rights/decide") as typeof Decide;
      const { withRightsServices, refused } = session();
      await withRightsServices("rights refuse", async (s) => {
        const out = await refuseRequest(s, id, { reason: opts.reason, by });
        return typeof out === "string" ? refused("rights refuse", why(out)) : { id, status: "refused", noticeId: out.noticeId };
      });
    });

  rights
    .command("approve")
    .description("approve a rectification that waits for approval; it runs")
    .argument("<request-id>")
    .option("--reason <text>", "a note kept with the decision")
    .action(async (id: string, opts: { reason?: string }) => {
      const { approveRectification } = require("../../rights/decide") as typeof Decide;
      const { withRightsServices, refused } = session();
      await withRightsServices("rights approve", async (s) => {
        const out = await approveRectification(s, id, { reason: opts.reason ?? null, by });
        return out === "approved" ? { id, status: "queued" } : refused("rights approve", why(out));
      });
    });

  rights
    .command("reject")
    .description("reject a rectification that waits for approval: a refusal with the reason")
    .argument("<request-id>")
    .requiredOption("--reason <text>", "why (sent to the person)")
    .action(async (id: string, opts: { reason: string }) => {
      const { rejectRectification } = require("../../rights/decide") as typeof Decide;
      const { withRightsServices, refused } = session();
      await withRightsServices("rights reject", async (s) => {
        const out = await rejectRectification(s, id, { reason: opts.reason, by });
        return typeof out === "string" ? refused("rights reject", why(out)) : { id, status: "refused", noticeId: out.noticeId };
      });
    });

  rights
    .command("decide")
    .description("decide an objection under Art. 21(1): upheld or rejected, with the grounds; the person is told")
    .argument("<request-id>")
    .requiredOption("--outcome <upheld|rejected>")
    .requiredOption("--grounds <text>", "the grounds (sent to the person)")
    .action(async (id: string, opts: { outcome: string; grounds: string }) => {
      const { decideObjection } = require("../../rights/decide") as typeof Decide;
      const { withRightsServices, refused } = session();
      await withRightsServices("rights decide", async (s) => {
        if (opts.outcome !== "upheld" && opts.outcome !== "rejected") return refused("rights decide", "--outcome must be upheld or rejected");
        const out = await decideObjection(s, id, { outcome: opts.outcome, grounds: opts.grounds, by });
        return typeof out === "string" ? refused("rights decide", why(out)) : { id, outcome: opts.outcome, noticeId: out.noticeId };
      });
    });

  rights
    .command("recipients")
    .description("list the recipients of a request and how each was told (Art. 19)")
    .argument("<request-id>")
    .action(async (id: string) => {
      const { recipientsOfRequest } = require("../../rights/recipient-list") as typeof RecipientList;
      const { withRightsServices, refused } = session();
      await withRightsServices("rights recipients", async (s) => (await recipientsOfRequest(s, id)) ?? refused("rights recipients", "no request has this id"));
    });

  rights
    .command("settle")
    .description("record how a recipient was told by hand: done, or impossible with the reason (Art. 19)")
    .argument("<request-id>")
    .argument("<recipient>")
    .requiredOption("--action <action>", "rectify, restrict, lift-restriction, object, withdraw-consent or erase")
    .requiredOption("--status <done|impossible>")
    .option("--reason <text>", "required for impossible: why telling them is impossible or disproportionate")
    .action(async (id: string, recipient: string, opts: { action: string; status: string; reason?: string }) => {
      const { settleRecipient } = require("../../rights/recipient-list") as typeof RecipientList;
      const { withRightsServices, refused } = session();
      await withRightsServices("rights settle", async (s) => {
        if (opts.status !== "done" && opts.status !== "impossible") return refused("rights settle", "--status must be done or impossible");
        if (opts.status === "impossible" && !opts.reason?.trim()) return refused("rights settle", "--reason is required for impossible");
        const out = await settleRecipient(
          s,
          id,
          { recipient, action: opts.action as RecipientAction },
          { status: opts.status, reason: opts.reason ?? null, by },
        );
        return out === "settled" ? { id, recipient, action: opts.action, status: opts.status } : refused("rights settle", why(out));
      });
    });

  rights
    .command("restrictions")
    .description("whether a subject is restricted, what it objected to, and its consents")
    .requiredOption("--subject <value>", "the subject's key (or an identity value with --by)")
    .option("--by <identity>", "name the subject by this identity instead of its key", "id")
    .action(async (opts: { subject: string; by: string }) => {
      const { subjectRights } = require("../../rights/subject-status") as typeof SubjectStatus;
      await session().withRightsServices("rights restrictions", (s) => subjectRights(s, subjectOf(opts)));
    });

  rights
    .command("lift")
    .description("lift a restriction: the person is told first and it ends once the notice was sent (Art. 18(3))")
    .argument("<restriction-id>")
    .requiredOption("--reason <text>", "why it ends (sent to the person)")
    .option("--notice-not-possible <text>", "after the notice failed: why the person cannot be told")
    .action(async (id: string, opts: { reason: string; noticeNotPossible?: string }) => {
      const { liftDespiteNotice, liftRestriction } = require("../../rights/restrictions") as typeof Restrictions;
      const { getRestriction } = require("../../db/tables/restriction") as typeof RestrictionTable;
      const { withRightsServices, refused } = session();
      await withRightsServices("rights lift", async (s) => {
        if (opts.noticeNotPossible !== undefined) {
          return (await liftDespiteNotice(s, id, { by, reason: opts.noticeNotPossible }))
            ? getRestriction(s.ds, id)
            : refused("rights lift", "a lift without notice is possible only once the notice has failed");
        }
        const out = await liftRestriction(s, id, { by, reason: opts.reason });
        return typeof out === "string" ? refused("rights lift", why(out)) : { ...(await getRestriction(s.ds, id)), noticeId: out.noticeId };
      });
    });

  rights
    .command("grant-consent")
    .description("record a consent given (an event of the consent ledger)")
    .requiredOption("--subject <value>", "the subject's key (or an identity value with --by)")
    .option("--by <identity>", "name the subject by this identity instead of its key", "id")
    .requiredOption("--purpose <name>", "a purpose of the data map processed on consent")
    .requiredOption("--source <text>", "where it was given (e.g. signup form v3)")
    .action(async (opts: { subject: string; by: string; purpose: string; source: string }) => {
      const { grantConsent } = require("../../rights/subject-status") as typeof SubjectStatus;
      await session().withRightsServices("rights grant-consent", (s) =>
        grantConsent(s, { subject: subjectOf(opts), purpose: opts.purpose, source: opts.source, by }),
      );
    });

  rights
    .command("consents")
    .description("a subject's consent ledger, oldest first")
    .requiredOption("--subject <value>", "the subject's key (or an identity value with --by)")
    .option("--by <identity>", "name the subject by this identity instead of its key", "id")
    .action(async (opts: { subject: string; by: string }) => {
      const { subjectConsents } = require("../../rights/subject-status") as typeof SubjectStatus;
      await session().withRightsServices("rights consents", (s) => subjectConsents(s, subjectOf(opts)));
    });
}
