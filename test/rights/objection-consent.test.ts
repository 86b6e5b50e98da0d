import { queryRows } from "../helpers/db";
import { waitFor } from "../helpers/wait";
import { createRightsWorld, DPO_KEY, type RightsWorld } from "./fixture";
import { markerLeaks } from "./leaks";

/**
 * Objection (Art. 21) and consent withdrawal (Art. 7(3)) end to end: an objection to direct
 * marketing is a suppression before the API answers and goes to that purpose's processors only;
 * an objection under 21(1) restricts (18(1)(d)) until a `dpo` key decides and the person is told;
 * a withdrawal is an event of the append-only consent ledger, passed to the purpose's processors
 * with a status each (a processor that knows only `erase` is recorded as unsupported), and the
 * fields held only on that consent are erased.
 */
jest.setTimeout(180_000);

describe("objection and consent withdrawal", () => {
  let w: RightsWorld;

  beforeAll(async () => {
    // The mailer knows every action; the crm only the erase protocol (it rejects other actions with 400, as the protocol told it).
    w = await createRightsWorld({ crm: (call) => ({ status: call.body?.action === "erase" ? 200 : 400 }) });
  });

  afterAll(async () => {
    await w?.cleanup();
  });

  it("an objection to direct marketing is in force before the API answers and reaches only the purpose's processors", async () => {
    const s = await w.addRightsSubject("dm");
    const res = await w.http<{ id: string }>("POST", "/v1/requests", { type: "objection", subject: { email: s.email }, purpose: "newsletter" });
    expect(res.status).toBe(202);
    // No worker runs yet: the suppression is there already.
    const asked = await w.http<{ suppressions: Array<{ purpose: string }> }>("GET", `/v1/subjects/restrictions?id=${s.id}`);
    expect(asked.json.suppressions).toEqual([expect.objectContaining({ purpose: "newsletter", requestId: res.json.id })]);

    const worker = await w.startRights();
    const view = await w.h.waitForStatus(res.json.id, ["completed", "failed"], 60_000);
    expect(view.status).toBe("completed");
    expect(w.mailer.calls.filter((c) => c.body?.requestId === res.json.id).map((c) => JSON.parse(c.rawBody))).toEqual([
      { action: "object", requestId: res.json.id, subject: { email: s.email }, purpose: "newsletter" },
    ]);
    expect(w.crm.calls.filter((c) => c.body?.requestId === res.json.id)).toEqual([]);
    const wrong = await w.http<{ errors: Array<{ field: string }> }>("POST", "/v1/requests", {
      type: "objection",
      subject: { id: String(s.id) },
      purpose: "orders",
    });
    expect(wrong.status).toBe(400);
    expect(wrong.json.errors[0]!.field).toBe("purpose");
    await worker.close();
  });

  it("an objection under Art. 21(1) restricts until a decision is recorded and the person told", async () => {
    const worker = await w.startRights();
    const s = await w.addRightsSubject("obj211");
    const res = await w.http<{ id: string; status: string }>("POST", "/v1/requests", {
      type: "objection",
      subject: { id: String(s.id) },
      purpose: "fraud-prevention",
    });
    expect(res.json.status).toBe("awaiting_decision");
    const restricted = await w.http<{ restricted: boolean; restrictions: Array<{ ground: string; purpose: string }> }>(
      "GET",
      `/v1/subjects/restrictions?id=${s.id}`,
    );
    expect(restricted.json.restricted).toBe(true);
    expect(restricted.json.restrictions[0]).toEqual(expect.objectContaining({ ground: "d", purpose: "fraud-prevention" }));

    const noGrounds = await w.as(DPO_KEY, "POST", `/v1/requests/${res.json.id}/decision`, { outcome: "rejected" });
    expect(noGrounds.status).toBe(400);
    const decided = await w.as<{ noticeId: string }>(DPO_KEY, "POST", `/v1/requests/${res.json.id}/decision`, {
      outcome: "rejected",
      grounds: "Card fraud checks protect other customers; they outweigh the interest stated.",
    });
    expect(decided.status).toBe(200);
    const twice = await w.as(DPO_KEY, "POST", `/v1/requests/${res.json.id}/decision`, { outcome: "upheld", grounds: "changed my mind" });
    expect(twice.status).toBe(409);

    const view = await w.h.waitForStatus(res.json.id, ["completed", "failed"], 60_000);
    expect(view.status).toBe("completed");
    expect(view.rights?.decision).toEqual(expect.objectContaining({ needed: "objection", outcome: "rejected", decidedBy: "dpo" }));
    expect(view.notices).toEqual([expect.objectContaining({ kind: "objection-decision", status: "sent" })]);
    const mail = w.smtp.messages.find((m) => m.to.includes(s.email))!;
    expect(mail.parsed.text).toContain("outweigh the interest stated");
    expect(mail.parsed.text).toContain("supervisory authority");
    expect((await w.http<{ restricted: boolean }>("GET", `/v1/subjects/restrictions?id=${s.id}`)).json.restricted).toBe(false);
    await worker.close();
  });

  it("a consent withdrawal is a ledger event, passed to each processor of the purpose with its status, and erases the fields held only on it", async () => {
    const worker = await w.startRights();
    const s = await w.addRightsSubject("consent");
    const grant = await w.http<{ event: string; source: string }>("POST", "/v1/consents", {
      subject: { id: String(s.id) },
      purpose: "newsletter",
      source: "signup form v3",
    });
    expect(grant.status).toBe(201);
    expect(grant.json).toEqual(expect.objectContaining({ event: "granted", source: "signup form v3" }));
    const notConsent = await w.http("POST", "/v1/consents", { subject: { id: String(s.id) }, purpose: "orders", source: "x" });
    expect(notConsent.status).toBe(400);

    const res = await w.http<{ id: string }>("POST", "/v1/requests", {
      type: "consent-withdrawal",
      subject: { email: s.email },
      purpose: "newsletter",
      source: "unsubscribe link",
    });
    expect(res.status).toBe(202);
    const view = await w.h.waitForStatus(res.json.id, ["completed", "failed"], 60_000);
    expect(view.status).toBe("completed");
    expect(view.rights?.stores.find((x) => x.store === "shop")?.steps).toEqual([{ table: "customers", action: "erased", rows: 1, fields: ["phone"] }]);
    expect(await queryRows(w.h.appDb.url, `SELECT phone FROM customers WHERE id = $1`, [s.id])).toEqual([{ phone: null }]);

    const ledger = await w.http<{ events: Array<{ purpose: string; event: string; source: string; requestId: string | null }> }>(
      "GET",
      `/v1/subjects/consents?id=${s.id}`,
    );
    expect(ledger.json.events.map((e) => [e.purpose, e.event, e.source, e.requestId])).toEqual([
      ["newsletter", "granted", "signup form v3", null],
      ["newsletter", "withdrawn", "unsubscribe link", res.json.id],
    ]);
    const state = await w.http<{ consents: Array<{ purpose: string; state: string }> }>("GET", `/v1/subjects/restrictions?id=${s.id}`);
    expect(state.json.consents).toEqual([expect.objectContaining({ purpose: "newsletter", state: "withdrawn" })]);
    await expect(w.h.ds.query(`UPDATE lethe.consent_event SET source = 'x'`)).rejects.toThrow(/append-only/);
    await expect(w.h.ds.query(`DELETE FROM lethe.consent_event`)).rejects.toThrow(/append-only/);

    const recipients = await w.http<{ recipients: Array<{ recipient: string; action: string; status: string }> }>(
      "GET",
      `/v1/requests/${res.json.id}/recipients`,
    );
    expect(recipients.json.recipients.map((r) => [r.recipient, r.action, r.status])).toEqual([["mailer", "withdraw-consent", "executed"]]);
    expect(await markerLeaks(w, [s.marker])).toEqual([]);
    await worker.close();
  });

  it("a processor that knows only erase is recorded as unsupported, and a person records how it was told", async () => {
    const worker = await w.startRights();
    const s = await w.addRightsSubject("unsupported");
    const res = await w.http<{ id: string }>("POST", "/v1/requests", { type: "restriction", subject: { id: String(s.id) }, ground: "a" });
    const view = await w.h.waitForStatus(res.json.id, ["completed", "failed"], 60_000);
    expect(view.status).toBe("completed");
    const list = async () =>
      (
        await w.http<{ recipients: Array<{ recipient: string; action: string; status: string; lastHttpStatus: number | null; reason: string | null }> }>(
          "GET",
          `/v1/requests/${res.json.id}/recipients`,
        )
      ).json.recipients;
    expect((await list()).map((r) => [r.recipient, r.status, r.lastHttpStatus])).toEqual(
      expect.arrayContaining([
        ["crm", "unsupported", 400],
        ["mailer", "executed", 200],
      ]),
    );
    const noReason = await w.as(DPO_KEY, "POST", `/v1/requests/${res.json.id}/recipients/crm`, { action: "restrict", status: "impossible" });
    expect(noReason.status).toBe(400);
    const settled = await w.as(DPO_KEY, "POST", `/v1/requests/${res.json.id}/recipients/crm`, {
      action: "restrict",
      status: "impossible",
      reason: "The CRM contract ended; the vendor deleted the data.",
    });
    expect(settled.status).toBe(200);
    await waitFor(async () => ((await list()).find((r) => r.recipient === "crm")?.status === "impossible" ? true : undefined), "the crm settled");
    expect((await list()).find((r) => r.recipient === "crm")?.reason).toBe("The CRM contract ended; the vendor deleted the data.");
    await worker.close();
  });
});
