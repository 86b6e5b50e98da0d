import { Client } from "pg";
import type { DemoContext } from "./context";

/**
 * The rights section of `npm run demo` (issue 13): a rectification (Art. 16) — a customer's
 * email corrected in their row, in the copies the data map declares (`orders.billing_email`
 * mirrors it) and in the support tickets that link by it — and a restriction (Art. 18) — in force
 * as the API answers, visible to applications through the API and the SQL view, lifted only once
 * the notice to the person was sent (18(3)). Runs after the export section, whose SMTP catcher
 * receives the notice.
 */

/** Runs `fn` with a connection to `url`. */
async function withDb<T>(url: string, fn: (db: Client) => Promise<T>): Promise<T> {
  const db = new Client({ connectionString: url });
  await db.connect();
  try {
    return await fn(db);
  } finally {
    await db.end();
  }
}

/** Polls `fn` until it returns a value, or throws after `timeoutMs`. */
async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A customer with orders and a support ticket, not erased by an earlier section. */
async function pickCustomer(ctx: DemoContext, skip: number[]): Promise<{ id: number; email: string }> {
  return withDb(ctx.shopUrl, async (db) => {
    const res = await db.query<{ id: number; email: string }>(
      `SELECT c.id, c.email FROM customers c
        WHERE c.email NOT LIKE '%@erased.invalid' AND NOT (c.id = ANY($1::int[]))
          AND EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id) AND EXISTS (SELECT 1 FROM support_tickets t WHERE t.customer_email = c.email)
        ORDER BY c.id LIMIT 1`,
      [skip],
    );
    if (!res.rows[0]) throw new Error("the shop has no customer with orders and a ticket left");
    return res.rows[0];
  });
}

/** Where the customer's email is, in every place that holds it. */
async function emailPlaces(ctx: DemoContext, id: number): Promise<Array<[string, string]>> {
  return withDb(ctx.shopUrl, async (db) => {
    const c = await db.query<{ email: string }>(`SELECT email FROM customers WHERE id = $1`, [id]);
    const o = await db.query<{ billing_email: string; n: number }>(`SELECT billing_email, count(*)::int AS n FROM orders WHERE customer_id = $1 GROUP BY 1`, [
      id,
    ]);
    const t = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM support_tickets WHERE customer_email = $1`, [c.rows[0]!.email]);
    return [
      ["customers.email", c.rows[0]!.email],
      ...o.rows.map((r): [string, string] => [`orders.billing_email (${r.n} orders)`, r.billing_email]),
      ["support_tickets by that email", `${t.rows[0]!.n} ticket(s)`],
    ];
  });
}

/** Runs the section (see the module comment). */
export async function runRightsDemo(ctx: DemoContext): Promise<void> {
  const { print } = ctx;
  const a = await pickCustomer(ctx, []);
  const newEmail = `corrected.${a.id}@example.org`;
  print.section(`Rectification (Art. 16): customer ${a.id} asks to correct their email`);
  print.heading("before");
  print.keyValues(await emailPlaces(ctx, a.id));
  const body = { type: "rectification", subject: { id: String(a.id) }, changes: [{ field: "email", value: newEmail }] };
  print.line(`POST /v1/requests ${JSON.stringify(body).replace(newEmail, "<new email>")}`, 4);
  const { data: sub } = await ctx.api.call<{ id: string }>("POST", "/v1/requests", { body });
  const done = await ctx.api.waitForRequest(sub.id);
  print.heading(`after: request ${sub.id} is ${done.status}`);
  print.keyValues(await emailPlaces(ctx, a.id));
  print.heading("what Lethe recorded (field names and counts, never the values)");
  for (const s of done.rights?.stores ?? []) {
    if (s.status === "not_applicable") print.line(`${s.store}: not applicable — ${s.note}`, 4);
    for (const step of s.steps) print.line(`${s.store}.${step.table}: ${step.action} ${step.rows} row(s), fields ${step.fields.join(", ")}`, 4);
  }
  const [audit] = await withDb(
    ctx.letheUrl,
    async (db) =>
      (await db.query<{ detail: unknown }>(`SELECT detail FROM lethe.audit_log WHERE request_id = $1 AND event = 'request.received'`, [sub.id])).rows,
  );
  print.line(`audit entry request.received: ${JSON.stringify(audit?.detail)}`, 4);

  const b = await pickCustomer(ctx, [a.id]);
  print.section(`Restriction (Art. 18): customer ${b.id} needs their data kept for a legal claim (ground 18(1)(c))`);
  const { data: r } = await ctx.api.call<{ id: string }>("POST", "/v1/requests", { body: { type: "restriction", subject: { id: String(b.id) }, ground: "c" } });
  const asked = await ctx.api.call<{ restricted: boolean; restrictions: Array<{ id: string; ground: string; status: string }> }>(
    "GET",
    `/v1/subjects/restrictions?id=${b.id}`,
  );
  print.keyValues([
    ["as the API answered", `GET /v1/subjects/restrictions?id=${b.id} → restricted: ${asked.data.restricted}`],
    ["retention sweeps", "skip the customer's rows, as for a legal hold"],
    ["exports", "mark all of the customer's data as restricted (manifest and info sheet)"],
  ]);
  const view = await withDb(ctx.letheUrl, async (db) => (await db.query(`SELECT subject_key, ground, since FROM lethe.restricted_subject_keys`)).rows);
  print.line(
    `SELECT subject_key, ground FROM lethe.restricted_subject_keys → ${JSON.stringify(view.map((v: { subject_key: string; ground: string }) => [v.subject_key, v.ground]))}`,
    4,
  );
  await ctx.api.waitForRequest(r.id);

  const restrictionId = asked.data.restrictions[0]!.id;
  print.heading("lifting it (a dpo key): the person must be told first (Art. 18(3))");
  const { data: lift } = await ctx.adminApi.call<{ status: string; noticeId: string }>("POST", `/v1/restrictions/${restrictionId}/lift`, {
    body: { reason: "The legal claim was settled; we no longer need to keep your data apart." },
  });
  print.line(`POST /v1/restrictions/${restrictionId}/lift → ${lift.status}: waits for notice ${lift.noticeId}`, 4);
  const lifted = await until("the lift", async () => {
    const x = (await ctx.api.call<{ status: string; liftedAt: string | null }>("GET", `/v1/restrictions/${restrictionId}`)).data;
    return x.status === "lifted" ? x : undefined;
  });
  const again = await ctx.api.call<{ restricted: boolean }>("GET", `/v1/subjects/restrictions?id=${b.id}`);
  print.line(`the notice was mailed; the restriction was lifted at ${lifted.liftedAt}; restricted now: ${again.data.restricted}`, 4);
}
