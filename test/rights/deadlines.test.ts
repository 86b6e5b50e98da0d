import { queryRows } from "../helpers/db";
import { waitForJobState } from "../helpers/job-events";
import { waitFor } from "../helpers/wait";
import { requestJobId } from "../../src/queues/jobs/erase-request";
import { dueDateFor } from "../../src/requests/due-date";
import { createRightsWorld, DPO_KEY, type RightsWorld } from "./fixture";

/**
 * The Art. 12(3) extension and the Art. 12(4) refusal, and a rectification that waits for a
 * `dpo` key's approval: an extension only once, only before the original due date, of one or two
 * months, with a reason, the notice queued with it and its delivery shown on the request; a
 * refusal with its reason and a notice naming the right to complain; an approved rectification
 * runs, a rejected one is a refusal that lifts its restriction once the person was told.
 */
jest.setTimeout(180_000);

describe("deadlines, refusals and approvals", () => {
  let w: RightsWorld;

  beforeAll(async () => {
    w = await createRightsWorld({ editMap: (raw) => void ((raw as Record<string, unknown>).rectification = { requiresApproval: true }) });
    // No erasure worker: erasures stay queued, so they can be extended and refused.
    await w.startRights(["rights", "mail", "maintenance"]);
  });

  afterAll(async () => {
    await w?.cleanup();
  });

  const erasure = async (id: number): Promise<string> => {
    const res = await w.http<{ id: string }>("POST", "/v1/requests", { type: "erasure", subject: { id: String(id) } });
    expect(res.status).toBe(202);
    return res.json.id;
  };

  it("extends a request once, before its due date, by one or two months with a reason; the person is told", async () => {
    const s = await w.addRightsSubject("extend");
    const id = await erasure(s.id);
    const bad = [
      await w.as(DPO_KEY, "POST", `/v1/requests/${id}/extend`, { months: 2 }),
      await w.as(DPO_KEY, "POST", `/v1/requests/${id}/extend`, { months: 2, reason: "   " }),
      await w.as(DPO_KEY, "POST", `/v1/requests/${id}/extend`, { months: 3, reason: "too long" }),
    ];
    expect(bad.map((r) => r.status)).toEqual([400, 400, 400]);
    expect((await w.http("POST", `/v1/requests/${id}/extend`, { months: 1, reason: "x" })).status).toBe(403);

    const [row] = (await w.h.ds.query(`SELECT received_at, due_at FROM lethe.subject_request WHERE id = $1`, [id])) as Array<{
      received_at: Date;
      due_at: Date;
    }>;
    const ok = await w.as<{ dueAt: string; noticeId: string }>(DPO_KEY, "POST", `/v1/requests/${id}/extend`, {
      months: 2,
      reason: "Your data is spread over three archived systems we must restore first.",
    });
    expect(ok.status).toBe(200);
    expect(ok.json.dueAt).toBe(dueDateFor(row!.received_at, 3).toISOString());

    const second = await w.as<{ detail: string }>(DPO_KEY, "POST", `/v1/requests/${id}/extend`, { months: 1, reason: "more" });
    expect(second.status).toBe(409);
    expect(second.json.detail).toContain("extended already");

    const view = await waitFor(async () => {
      const v = (await w.http<{ extension?: { notice: { status: string } | null } }>("GET", `/v1/requests/${id}`)).json;
      return v.extension?.notice?.status === "sent" ? v : undefined;
    }, "the extension notice to be sent");
    expect(view).toEqual(
      expect.objectContaining({
        dueAt: ok.json.dueAt,
        extension: expect.objectContaining({
          months: 2,
          originalDueAt: row!.due_at.toISOString(),
          extendedBy: "dpo",
          notice: expect.objectContaining({ kind: "extension", status: "sent" }),
        }),
      }),
    );
    const mail = w.smtp.messages.filter((m) => m.to.includes(s.email));
    expect(mail).toHaveLength(1);
    expect(mail[0]!.parsed.text).toContain("three archived systems");
    expect(mail[0]!.parsed.text).toContain(ok.json.dueAt.slice(0, 10));
    // The reason is on the extension, never in the audit log.
    const audit = (await w.h.ds.query(`SELECT detail::text AS d FROM lethe.audit_log WHERE request_id = $1`, [id])) as Array<{ d: string }>;
    expect(audit.map((a) => a.d).join("")).not.toContain("archived systems");
  });

  it("refuses an extension after the original due date", async () => {
    const s = await w.addRightsSubject("late");
    const id = await erasure(s.id);
    await w.h.ds.query(`UPDATE lethe.subject_request SET received_at = now() - interval '40 days', due_at = now() - interval '9 days' WHERE id = $1`, [id]);
    const late = await w.as<{ detail: string }>(DPO_KEY, "POST", `/v1/requests/${id}/extend`, { months: 1, reason: "We are busy." });
    expect(late.status).toBe(409);
    expect(late.json.detail).toContain("due date has passed");
    expect(await w.h.ds.query(`SELECT count(*)::int AS n FROM lethe.rights_notice WHERE request_id = $1`, [id])).toEqual([{ n: 0 }]);
  });

  it("refuses a request with its reason and tells the person of their right to complain; the refused erasure never runs", async () => {
    const s = await w.addRightsSubject("refuse");
    const id = await erasure(s.id);
    const refused = await w.as<{ status: string }>(DPO_KEY, "POST", `/v1/requests/${id}/refuse`, {
      reason: "We hold the data under a court order (case 12 O 34/25).",
    });
    expect(refused.status).toBe(200);
    expect(refused.json.status).toBe("refused");
    const mail = await waitFor(async () => w.smtp.messages.find((m) => m.to.includes(s.email)), "the refusal notice");
    expect(mail.parsed.text).toContain("court order");
    expect(mail.parsed.text).toContain("Berliner Beauftragte für Datenschutz");
    expect(mail.parsed.text).toContain("supervisory authority");
    expect((await w.as(DPO_KEY, "POST", `/v1/requests/${id}/extend`, { months: 1, reason: "x" })).status).toBe(409);
    expect((await w.as(DPO_KEY, "POST", `/v1/requests/${id}/refuse`, { reason: "again" })).status).toBe(409);
    const [row] = (await w.h.ds.query(`SELECT status, identities FROM lethe.subject_request WHERE id = $1`, [id])) as Array<{
      status: string;
      identities: Buffer | null;
    }>;
    expect(row).toEqual({ status: "refused", identities: null });

    const eraser = await w.startRights(["erasure"]);
    await w.h.erasureQueue.add("erase-request", { requestId: id }, { jobId: requestJobId(id) }).catch(() => undefined);
    await waitForJobState(w.h.erasureQueue, requestJobId(id), ["completed"]);
    expect(await queryRows(w.h.appDb.url, `SELECT count(*)::int AS n FROM customers WHERE id = $1`, [s.id])).toEqual([{ n: 1 }]);
    await eraser.close();
  });

  it("a rectification waits for approval; approved it runs, rejected it is refused and its restriction lifted once the person was told", async () => {
    const a = await w.addRightsSubject("approve");
    const r = await w.addRightsSubject("reject");
    const submit = async (id: number, contested: boolean) =>
      (
        await w.http<{ id: string; status: string }>("POST", "/v1/requests", {
          type: "rectification",
          subject: { id: String(id) },
          changes: [{ field: "full_name", value: `Renamed ${id}` }],
          contested,
        })
      ).json;
    const approved = await submit(a.id, false);
    const rejected = await submit(r.id, true);
    expect([approved.status, rejected.status]).toEqual(["awaiting_decision", "awaiting_decision"]);
    expect(await queryRows(w.h.appDb.url, `SELECT full_name FROM customers WHERE id = $1`, [a.id])).toEqual([{ full_name: a.name }]);
    expect((await w.http<{ restricted: boolean }>("GET", `/v1/subjects/restrictions?id=${r.id}`)).json.restricted).toBe(true);

    expect((await w.as(DPO_KEY, "POST", `/v1/requests/${approved.id}/approve`, {})).status).toBe(202);
    expect((await w.as(DPO_KEY, "POST", `/v1/requests/${approved.id}/approve`, {})).status).toBe(409);
    const done = await w.h.waitForStatus(approved.id, ["completed", "failed"], 60_000);
    expect(done.status).toBe("completed");
    expect(done.rights?.decision).toEqual(expect.objectContaining({ needed: "approval", outcome: "approved", decidedBy: "dpo" }));
    expect(await queryRows(w.h.appDb.url, `SELECT full_name FROM customers WHERE id = $1`, [a.id])).toEqual([{ full_name: `Renamed ${a.id}` }]);

    expect((await w.as(DPO_KEY, "POST", `/v1/requests/${rejected.id}/reject`, {})).status).toBe(400);
    const no = await w.as<{ status: string }>(DPO_KEY, "POST", `/v1/requests/${rejected.id}/reject`, {
      reason: "Our records show the name as registered is correct.",
    });
    expect(no.json.status).toBe("refused");
    const mail = await waitFor(async () => w.smtp.messages.find((m) => m.to.includes(r.email)), "the rejection notice");
    expect(mail.parsed.text).toContain("registered is correct");
    expect(mail.parsed.text).toContain("restriction of processing");
    await waitFor(
      async () => ((await w.http<{ restricted: boolean }>("GET", `/v1/subjects/restrictions?id=${r.id}`)).json.restricted ? undefined : true),
      "the restriction lifted",
    );
    expect(await queryRows(w.h.appDb.url, `SELECT full_name FROM customers WHERE id = $1`, [r.id])).toEqual([{ full_name: r.name }]);
  });
});
