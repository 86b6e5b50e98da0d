import { randomBytes } from "node:crypto";
import { queryRows } from "../helpers/db";
import { waitFor } from "../helpers/wait";
import { createRightsWorld, DPO_KEY, TAX_ADVISOR, type RightsWorld } from "./fixture";
import { markerLeaks } from "./leaks";

/**
 * Rectification (Art. 16) end to end over Postgres, Redis, files and two processors: the values
 * checked before anything runs, the subject's columns and their copies changed in one
 * transaction, the caches invalidated or rewritten, the files recorded as not applicable, each
 * processor told once with only the fields it holds, the manual recipient's task open — and the
 * old and new values nowhere in Lethe's logs, Redis, job data or audit rows.
 */
/** Code-point order of rows of text. */
const byText = (a: string[], b: string[]): number => (a.join("\u0000") < b.join("\u0000") ? -1 : 1);

jest.setTimeout(120_000);

describe("rectification", () => {
  let w: RightsWorld;

  beforeAll(async () => {
    w = await createRightsWorld();
    await w.startRights();
  });

  afterAll(async () => {
    await w?.cleanup();
  });

  const shop = (sql: string, params: unknown[] = []) => queryRows(w.h.appDb.url, sql, params);

  it("changes the subject's email and name everywhere they are copied, tells each processor once, and leaks nothing", async () => {
    const s = await w.addRightsSubject("rect");
    const other = await w.addRightsSubject("rect-other");
    const newEmail = `fixed-${randomBytes(4).toString("hex")}@example.org`;
    const newName = `Corrected ${randomBytes(4).toString("hex")} Name`;
    const otherBefore = await shop(`SELECT email, full_name FROM customers WHERE id = $1`, [other.id]);

    const res = await w.http<{ id: string; status: string }>("POST", "/v1/requests", {
      type: "rectification",
      subject: { email: s.email },
      changes: [
        { field: "email", value: newEmail },
        { field: "customers.full_name", value: newName },
      ],
    });
    expect(res.status).toBe(202);
    const view = await w.h.waitForStatus(res.json.id, ["completed", "failed"], 60_000);
    expect(view.status).toBe("completed");

    // The shop: the subject's row, its orders' billing email (mirrors), its tickets' via column.
    expect(await shop(`SELECT email, full_name FROM customers WHERE id = $1`, [s.id])).toEqual([{ email: newEmail, full_name: newName }]);
    expect(await shop(`SELECT DISTINCT billing_email FROM orders WHERE customer_id = $1`, [s.id])).toEqual([{ billing_email: newEmail }]);
    expect(await shop(`SELECT customer_email FROM support_tickets WHERE customer_email IN ($1, $2)`, [s.email, newEmail])).toEqual([
      { customer_email: newEmail },
    ]);
    expect(await shop(`SELECT email, full_name FROM customers WHERE id = $1`, [other.id])).toEqual(otherBefore);
    expect(await shop(`SELECT count(*)::int AS n FROM orders WHERE billing_email = $1`, [other.email])).toEqual([{ n: 2 }]);

    // Redis: the email's hash field rewritten, caches invalidated, sessions kept (`rectify: keep`).
    const k = (x: string) => `${w.prefix}:${x}`;
    expect(await w.h.redis.hget(k("emails"), String(s.id))).toBe(newEmail);
    expect(await w.h.redis.exists(k(`cart:${s.id}:items`), k(`user:${s.email}`))).toBe(0);
    expect(await w.h.redis.hexists(k("profiles"), String(s.id))).toBe(0);
    expect(await w.h.redis.exists(k(`session:${s.id}`))).toBe(1);
    expect(await w.h.redis.hget(k("emails"), String(other.id))).toBe(other.email);
    expect(await w.h.redis.exists(k(`cart:${other.id}:items`))).toBe(1);

    // The request: fields named, each store's part, files not applicable with the reason.
    expect(view.rights?.fields).toEqual(["email", "full_name"]);
    const stores = Object.fromEntries((view.rights?.stores ?? []).map((x) => [x.store, x]));
    expect(stores.shop?.status).toBe("done");
    expect(stores.shop?.steps).toEqual(
      expect.arrayContaining([
        { table: "orders", action: "rectified", rows: 2, fields: ["email"] },
        { table: "support_tickets", action: "rectified", rows: 1, fields: ["email"] },
        { table: "customers", action: "rectified", rows: 1, fields: ["email", "full_name"] },
      ]),
    );
    expect(stores.uploads).toEqual(expect.objectContaining({ status: "not_applicable", note: expect.stringContaining("not rewritten") }));
    expect(stores.cache?.status).toBe("done");

    // Processors: one event each, with only the fields they hold, naming the subject by its old email.
    const crm = w.crm.calls.filter((c) => c.body?.requestId === res.json.id);
    const mailer = w.mailer.calls.filter((c) => c.body?.requestId === res.json.id);
    expect(crm).toHaveLength(1);
    expect(mailer).toHaveLength(1);
    expect(crm[0]!.idempotencyKey).toBe(`rectify-${res.json.id}-crm`);
    expect(JSON.parse(crm[0]!.rawBody)).toEqual({
      action: "rectify",
      requestId: res.json.id,
      subject: { email: s.email },
      changes: [
        { field: "email", value: newEmail },
        { field: "full_name", value: newName },
      ],
    });
    expect(JSON.parse(mailer[0]!.rawBody).changes).toEqual([{ field: "email", value: newEmail }]);

    const recipients = await w.as<{ recipients: Array<{ recipient: string; action: string; status: string; channel: string }> }>(
      DPO_KEY,
      "GET",
      `/v1/requests/${res.json.id}/recipients`,
    );
    expect(recipients.status).toBe(200);
    expect(recipients.json.recipients.map((r) => [r.recipient, r.action, r.channel, r.status]).sort(byText)).toEqual([
      [TAX_ADVISOR, "rectify", "manual", "open"],
      ["crm", "rectify", "webhook", "executed"],
      ["mailer", "rectify", "webhook", "executed"],
    ]);

    // The values were sealed while it ran and are gone now; no marker anywhere in Lethe.
    const [row] = (await w.h.ds.query(`SELECT identities FROM lethe.subject_request WHERE id = $1`, [res.json.id])) as Array<{ identities: Buffer | null }>;
    expect(row!.identities).toBeNull();
    const payloads = (await w.h.ds.query(`SELECT count(*)::int AS n FROM lethe.recipient_event WHERE request_id = $1 AND payload IS NOT NULL`, [
      res.json.id,
    ])) as Array<{ n: number }>;
    expect(payloads[0]!.n).toBe(0);
    expect(await markerLeaks(w, [s.marker, newEmail, newName, s.email])).toEqual([]);
  });

  it("refuses a value another customer holds (409) and a value of the wrong type (400), naming the field, before anything runs", async () => {
    const s = await w.addRightsSubject("rect-bad");
    const taken = await w.addRightsSubject("rect-taken");
    const before = await shop(`SELECT * FROM customers WHERE id = $1`, [s.id]);
    const requests = (await w.h.ds.query(`SELECT count(*)::int AS n FROM lethe.subject_request`)) as Array<{ n: number }>;

    const dup = await w.http<{ status: number; errors: Array<{ field: string }>; detail: string }>("POST", "/v1/requests", {
      type: "rectification",
      subject: { id: String(s.id) },
      changes: [{ field: "email", value: taken.email }],
    });
    expect(dup.status).toBe(409);
    expect(dup.json.errors).toEqual([{ field: "email", message: expect.stringContaining("another record") }]);
    expect(dup.json.detail).not.toContain(taken.marker);

    const badType = await w.http<{ errors: Array<{ field: string }> }>("POST", "/v1/requests", {
      type: "rectification",
      subject: { id: String(s.id) },
      changes: [{ field: "birth_date", value: "not a date" }],
    });
    expect(badType.status).toBe(400);
    expect(badType.json.errors).toEqual([{ field: "birth_date", message: expect.stringContaining("not a valid value") }]);

    const unknown = await w.http<{ errors: Array<{ field: string; message: string }> }>("POST", "/v1/requests", {
      type: "rectification",
      subject: { id: String(s.id) },
      changes: [{ field: "password_hash", value: "x" }],
    });
    expect(unknown.status).toBe(400);
    expect(unknown.json.errors[0]!.field).toBe("changes.0.field");

    const key = await w.http("POST", "/v1/requests", { type: "rectification", subject: { id: String(s.id) }, changes: [{ field: "id", value: "7" }] });
    expect(key.status).toBe(400);
    const nobody = await w.http("POST", "/v1/requests", { type: "rectification", subject: { id: "999999" }, changes: [{ field: "full_name", value: "x" }] });
    expect(nobody.status).toBe(404);

    expect(await shop(`SELECT * FROM customers WHERE id = $1`, [s.id])).toEqual(before);
    expect(await w.h.ds.query(`SELECT count(*)::int AS n FROM lethe.subject_request`)).toEqual(requests);
  });

  it("a contested rectification restricts the subject at once (Art. 18(1)(a)); the completed rectification lifts it after telling the person", async () => {
    const s = await w.addRightsSubject("rect-contested");
    const res = await w.http<{ id: string }>("POST", "/v1/requests", {
      type: "rectification",
      subject: { id: String(s.id) },
      changes: [{ field: "phone", value: "+49 30 1234567" }],
      contested: true,
    });
    expect(res.status).toBe(202);
    const view = await w.h.waitForStatus(res.json.id, ["completed", "failed"], 60_000);
    expect(view.status).toBe("completed");
    expect(view.rights?.restrictions).toEqual([expect.objectContaining({ ground: "a", status: "lifted" })]);
    expect(view.notices).toEqual([expect.objectContaining({ kind: "restriction-lifted", status: "sent" })]);
    const mail = w.smtp.messages.find((m) => m.to.includes(s.email) && /restriction/i.test(m.parsed.subject ?? ""));
    expect(mail?.parsed.text).toContain("Art. 18(3)");
    // restrict and lift-restriction: one event each per processor; the rectify event is skipped (neither holds the phone).
    await waitFor(
      async () =>
        (
          (await w.h.ds.query(
            `SELECT count(*)::int AS n FROM lethe.recipient_event WHERE request_id = $1 AND action = 'lift-restriction' AND status = 'executed'`,
            [res.json.id],
          )) as Array<{ n: number }>
        )[0]!.n === 2 || undefined,
      "both processors told of the lift",
    );
    const actions = w.crm.calls.filter((c) => c.body?.requestId === res.json.id).map((c) => c.body!.action);
    expect(actions.sort()).toEqual(["lift-restriction", "restrict"]);
    const skipped = (await w.h.ds.query(
      `SELECT recipient, reason FROM lethe.recipient_event WHERE request_id = $1 AND action = 'rectify' AND channel = 'webhook' ORDER BY recipient`,
      [res.json.id],
    )) as Array<{ recipient: string; reason: string }>;
    expect(skipped).toEqual([
      { recipient: "crm", reason: "no_field_shared" },
      { recipient: "mailer", reason: "no_field_shared" },
    ]);
    const restricted = await w.http<{ restricted: boolean }>("GET", `/v1/subjects/restrictions?id=${s.id}`);
    expect(restricted.json.restricted).toBe(false);
  });
});
