import type { IncidentView } from "../../src/incidents/incident-view";
import { expectProblem } from "../http/harness";
import { CONTACT, createBreachHarness, HIGH_SEVERITY, type BreachHarness } from "./support";

const H = 3600_000;

describe("/v1/incidents: scopes, problems and the register's export", () => {
  let b: BreachHarness;
  const newIncident = (extra: Record<string, unknown> = {}) => ({
    title: "Mail to the wrong customer",
    description: "An invoice went to the wrong customer.",
    kinds: ["confidentiality"],
    detectedAt: new Date(Date.now() - 2 * H).toISOString(),
    awareAt: new Date(Date.now() - H).toISOString(),
    ...extra,
  });

  beforeAll(async () => {
    b = await createBreachHarness({ customers: 30 });
  }, 120_000);

  afterAll(async () => {
    await b?.cleanup();
  });

  it("answers 401 without a key, 403 without the scope; decisions and closing need dpo", async () => {
    const anonymous = await b.api.inject({ method: "GET", url: "/v1/incidents" });
    expectProblem(anonymous, 401);
    expectProblem(await b.call("reader", "POST", "/v1/incidents", newIncident()), 403);
    const id = (await b.ok<IncidentView>("ops", "POST", "/v1/incidents", newIncident(), 201)).id;
    await b.ok("ops", "POST", `/v1/incidents/${id}/assessments`, HIGH_SEVERITY, 201);
    expectProblem(
      await b.call("ops", "POST", `/v1/incidents/${id}/decisions`, { notifyAuthority: true, notifySubjects: true, rationale: "high risk to people" }),
      403,
    );
    expectProblem(await b.call("ops", "POST", `/v1/incidents/${id}/close`, { status: "closed" }), 403);
    expect((await b.call("reader", "GET", `/v1/incidents/${id}`)).statusCode).toBe(200);
  });

  it("bad input is a 400 naming each field, never echoing a value", async () => {
    const secret = "secret-value-0001@example.test";
    const bad = await b.call(
      "ops",
      "POST",
      "/v1/incidents",
      newIncident({ awareAt: new Date(Date.now() + H).toISOString(), detectedAt: "yesterday", extra: secret, stores: ["nope"] }),
    );
    const problem = expectProblem(bad, 400);
    expect((problem.errors as Array<{ field: string }>).map((e) => e.field).sort()).toEqual(["detectedAt", "extra"]);
    const order = expectProblem(await b.call("ops", "POST", "/v1/incidents", newIncident({ detectedAt: new Date(Date.now() - 0.5 * H).toISOString() })), 400);
    expect(order.errors).toEqual([expect.objectContaining({ field: "awareAt" })]);
    const id = (await b.ok<IncidentView>("ops", "POST", "/v1/incidents", newIncident(), 201)).id;
    const scope = expectProblem(
      await b.call("ops", "POST", `/v1/incidents/${id}/scopes`, {
        kind: "rows",
        store: "app",
        table: "orders",
        where: [{ column: "nope", op: "=", value: secret }],
      }),
      400,
    );
    expect(scope.errors).toEqual([expect.objectContaining({ field: "scope.where.0.column" })]);
    expect(JSON.stringify(scope)).not.toContain(secret);
    const shape = expectProblem(
      await b.call("ops", "POST", `/v1/incidents/${id}/scopes`, { kind: "rows", store: "app", table: "orders; DROP TABLE orders", allRows: true }),
      400,
    );
    expect(shape.errors).toEqual([expect.objectContaining({ field: "table" })]);
    expectProblem(await b.call("dpo", "POST", `/v1/incidents/${id}/close`, { status: "not_a_breach" }), 400);
  });

  it("a large uploaded list of keys is accepted, sealed, and counted", async () => {
    const id = (await b.ok<IncidentView>("ops", "POST", "/v1/incidents", newIncident(), 201)).id;
    const values = Array.from({ length: 50_000 }, (_, i) => i + 1);
    const scope = await b.ok<{ people: number; records: number; summary: string }>(
      "ops",
      "POST",
      `/v1/incidents/${id}/scopes`,
      { kind: "keys", store: "app", table: "customers", values },
      201,
    );
    expect(scope).toMatchObject({ people: 30, records: 30, summary: "50000 keys of app.customers" });
  });

  it("404 for an unknown incident, 409 for what its state does not allow", async () => {
    expectProblem(await b.call("reader", "GET", "/v1/incidents/00000000-0000-4000-8000-000000000000"), 404);
    expectProblem(await b.call("reader", "GET", "/v1/incidents/BR-1999-0001"), 404);
    const id = (await b.ok<IncidentView>("ops", "POST", "/v1/incidents", newIncident(), 201)).id;
    expectProblem(
      await b.call("dpo", "POST", `/v1/incidents/${id}/decisions`, { notifyAuthority: true, notifySubjects: true, rationale: "high risk to people" }),
      409,
    );
    expectProblem(await b.call("ops", "POST", `/v1/incidents/${id}/notify`, {}), 409);
    expectProblem(await b.call("ops", "POST", `/v1/incidents/${id}/pause`, { reason: "police request" }), 409);
    const closing = expectProblem(await b.call("dpo", "POST", `/v1/incidents/${id}/close`, { status: "closed" }), 409);
    expect(closing.detail).toContain("open");
    expectProblem(await b.call("reader", "GET", `/v1/incidents/${id}/reports/1`), 404);
  });

  it("a notified incident found not to be a breach is withdrawn, stays in the register and in its export", async () => {
    const created = await b.ok<IncidentView>("ops", "POST", "/v1/incidents", newIncident(), 201);
    const id = created.id;
    await b.ok("ops", "POST", `/v1/incidents/${id}/assessments`, HIGH_SEVERITY, 201);
    await b.ok(
      "dpo",
      "POST",
      `/v1/incidents/${id}/decisions`,
      {
        notifyAuthority: true,
        notifySubjects: false,
        subjectExemption: "risk_removed",
        exemptionRationale: "the mail was recalled unread",
        rationale: "a risk for one person, removed",
      },
      201,
    );
    await b.ok(
      "ops",
      "POST",
      `/v1/incidents/${id}/reports`,
      {
        kind: "initial",
        final: false,
        nature: {
          description: "Invoice to the wrong customer.",
          kinds: ["confidentiality"],
          occurred: { toFollow: true },
          dataCategories: ["financial"],
          subjectCategories: ["customers"],
          approxSubjects: 1,
          approxRecords: 1,
        },
        contact: CONTACT,
        consequences: { toFollow: true },
        measures: { taken: "Recalled.", proposed: { toFollow: true } },
      },
      201,
    );
    expectProblem(
      await b.call("dpo", "POST", `/v1/incidents/${id}/close`, { status: "not_a_breach", rationale: "the recipient was the customer's own second account" }),
      409,
    );
    await b.ok(
      "ops",
      "POST",
      `/v1/incidents/${id}/reports`,
      { kind: "withdrawal", reason: "The recipient was the same customer's second account; no one else saw the data." },
      201,
    );
    const closed = await b.ok<IncidentView>("dpo", "POST", `/v1/incidents/${id}/close`, {
      status: "not_a_breach",
      rationale: "the recipient was the customer's own second account",
    });
    expect(closed).toMatchObject({ status: "not_a_breach", final: { rationale: "the recipient was the customer's own second account" } });
    expectProblem(await b.call("ops", "POST", `/v1/incidents/${id}/assessments`, HIGH_SEVERITY), 409);

    const exported = await b.ok<{ incidents: IncidentView[] }>("reader", "GET", "/v1/incidents/export.json");
    expect(exported.incidents.find((i) => i.id === id)).toMatchObject({ status: "not_a_breach", reports: { versions: 2, latest: { kind: "withdrawal" } } });
    const csv = await b.call("reader", "GET", "/v1/incidents/export.csv");
    expect(csv.headers["content-type"]).toMatch(/^text\/csv/);
    expect(csv.body.split("\r\n").filter((l) => l.length > 0)).toHaveLength(exported.incidents.length + 1);
    const list = await b.ok<{ incidents: IncidentView[] }>("reader", "GET", "/v1/incidents?status=not_a_breach");
    expect(list.incidents.map((i) => i.id)).toEqual([id]);
    expect((await b.call("reader", "GET", "/v1/incidents?status=bogus")).statusCode).toBe(400);
  });
});
