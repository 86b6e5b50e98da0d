import { LetheApiError, LetheClient } from "../../src/index";
import { TEST_KEYS } from "../helpers/config";
import { queryRows } from "../helpers/db";
import { waitFor } from "../helpers/wait";
import { createRightsWorld, DPO_KEY, TAX_ADVISOR, type RightsWorld } from "./fixture";

/** The rights through `LetheClient`, against the real API and workers: what an application and a DPO's tool call. */
/** Code-point order of rows of text. */
const byText = (a: string[], b: string[]): number => (a.join("\u0000") < b.join("\u0000") ? -1 : 1);

jest.setTimeout(180_000);

describe("LetheClient: the other rights", () => {
  let w: RightsWorld;
  let app: LetheClient;
  let dpo: LetheClient;

  beforeAll(async () => {
    w = await createRightsWorld();
    await w.startRights();
    app = new LetheClient({ baseUrl: w.api.url, apiKey: TEST_KEYS.writer });
    dpo = new LetheClient({ baseUrl: w.api.url, apiKey: DPO_KEY });
  });

  afterAll(async () => {
    await w?.cleanup();
  });

  it("rectifies, restricts and lifts, objects, grants and withdraws consent, and lists recipients", async () => {
    const s = await w.addRightsSubject("client");
    const rect = await app.rectify({ id: String(s.id) }, [{ field: "full_name", value: "Client Corrected" }], { idempotencyKey: `rect-${s.id}` });
    expect((await app.rectify({ id: String(s.id) }, [{ field: "full_name", value: "Client Corrected" }], { idempotencyKey: `rect-${s.id}` })).replayed).toBe(
      true,
    );
    expect((await app.waitUntilDone(rect.id, { timeoutMs: 60_000 })).status).toBe("completed");
    expect(await queryRows(w.h.appDb.url, `SELECT full_name FROM customers WHERE id = $1`, [s.id])).toEqual([{ full_name: "Client Corrected" }]);
    const conflict = await app.rectify({ id: String(s.id) }, [{ field: "birth_date", value: "31.02.soon" }]).catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(LetheApiError);
    expect((conflict as LetheApiError).status).toBe(400);

    const restrict = await app.restrict({ email: s.email }, { ground: "b" });
    const rights = await app.getSubjectRights({ email: s.email });
    expect(rights.restricted).toBe(true);
    await app.waitUntilDone(restrict.id, { timeoutMs: 60_000 });
    expect((await app.getRecipients(restrict.id)).map((r) => [r.recipient, r.action, r.status]).sort(byText)).toEqual([
      [TAX_ADVISOR, "restrict", "open"],
      ["crm", "restrict", "executed"],
      ["mailer", "restrict", "executed"],
    ]);
    await dpo.settleRecipient(restrict.id, TAX_ADVISOR, { action: "restrict", status: "done" });
    const lifted = await dpo.liftRestriction(rights.restrictions[0]!.id, { reason: "Resolved." });
    expect(lifted.status).toBe("lifting");
    await waitFor(async () => ((await app.getRestriction(lifted.id)).status === "lifted" ? true : undefined), "the lift");

    await app.grantConsent({ subject: { id: String(s.id) }, purpose: "newsletter", source: "client test" });
    const withdrawn = await app.withdrawConsent({ id: String(s.id) }, { purpose: "newsletter", source: "client test" });
    await app.waitUntilDone(withdrawn.id, { timeoutMs: 60_000 });
    expect((await app.getConsents({ id: String(s.id) })).map((e) => e.event)).toEqual(["granted", "withdrawn"]);

    const objection = await app.object({ id: String(s.id) }, "fraud-prevention");
    expect(objection.status).toBe("awaiting_decision");
    const extended = await dpo.extend(objection.id, { months: 1, reason: "Weighing the grounds takes time." });
    expect(extended.dueAt > objection.dueAt).toBe(true);
    await dpo.decideObjection(objection.id, { outcome: "upheld", grounds: "Your reasons outweigh ours." });
    const done = await app.waitUntilDone(objection.id, { timeoutMs: 60_000 });
    expect(done.status).toBe("completed");
    expect(done.extension?.notice?.status).toBe("sent");
    expect((await app.getSubjectRights({ id: String(s.id) })).suppressions.map((x) => x.purpose)).toEqual(["fraud-prevention"]);

    const forbidden = await app.refuse(objection.id, "x").catch((e: unknown) => e);
    expect((forbidden as LetheApiError).status).toBe(403);
  });

  it("lists an erasure's recipients: each processor's erase call and a manual task for the recipient without one", async () => {
    const s = await w.addRightsSubject("client-erase");
    const restricted = await app.restrict({ id: String(s.id) }, { ground: "b" });
    await app.waitUntilDone(restricted.id, { timeoutMs: 60_000 });
    const erased = await app.erase({ id: String(s.id) });
    expect((await app.waitUntilDone(erased.id, { timeoutMs: 60_000 })).status).toBe("completed");
    // The erased subject's restriction ended with it: no key of theirs is left in the view.
    const ended = (await app.getSubjectRights({ id: String(s.id) })).restrictions[0]!;
    expect(ended).toEqual(expect.objectContaining({ status: "lifted", noticeSkippedReason: "the subject was erased (Art. 17)" }));
    expect(await w.h.ds.query(`SELECT count(*)::int AS n FROM lethe.restricted_subject_keys WHERE subject_key = $1`, [String(s.id)])).toEqual([{ n: 0 }]);
    expect((await app.getRecipients(erased.id)).map((r) => [r.recipient, r.action, r.channel, r.status, r.idempotencyKey])).toEqual([
      ["crm", "erase", "webhook", "executed", `erase-${erased.id}-crm`],
      ["mailer", "erase", "webhook", "executed", `erase-${erased.id}-mailer`],
      [TAX_ADVISOR, "erase", "manual", "open", `erase-${erased.id}-${TAX_ADVISOR}`],
    ]);
    const impossible = await dpo.settleRecipient(erased.id, TAX_ADVISOR, { action: "erase", status: "impossible" }).catch((e: unknown) => e);
    expect((impossible as LetheApiError).status).toBe(400);
    await dpo.settleRecipient(erased.id, TAX_ADVISOR, {
      action: "erase",
      status: "impossible",
      reason: "The advisor received no personal data of this customer.",
    });
    expect((await app.getRecipients(erased.id)).find((r) => r.recipient === TAX_ADVISOR)).toEqual(
      expect.objectContaining({ status: "impossible", reason: "The advisor received no personal data of this customer.", decidedBy: "dpo" }),
    );
  });
});
