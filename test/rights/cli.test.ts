import { randomBytes } from "node:crypto";
import type { RequestView } from "../../src/requests/view";
import { runTs } from "../helpers/child-process";
import { queryRows } from "../helpers/db";
import { createRightsWorld, type RightsWorld } from "./fixture";

/** The rights from a terminal: `lethe request <right>` and `lethe rights …`, run as real processes against a running worker. */
jest.setTimeout(180_000);

const CLI = "workers/cli.ts";

describe("lethe request <right> and lethe rights", () => {
  let w: RightsWorld;

  beforeAll(async () => {
    w = await createRightsWorld();
    await w.startRights();
  });

  afterAll(async () => {
    await w?.cleanup();
  });

  const lethe = async (args: string[]) => runTs(CLI, args, { ...w.h.env, LETHE_PUBLIC_URL: w.api.url });

  it.each([
    ["request", "rectification"],
    ["request", "restriction"],
    ["request", "objection"],
    ["request", "consent-withdrawal"],
    ["rights", "extend"],
    ["rights", "lift"],
  ])("%s %s --help exits 0", async (...cmd) => {
    const res = await lethe([...cmd, "--help"]);
    expect(res).toMatchObject({ code: 0, stderr: "" });
    expect(res.stdout).toContain(`Usage: lethe ${cmd.join(" ")}`);
  });

  it("rectifies, restricts, extends and lifts from a terminal", async () => {
    const s = await w.addRightsSubject("cli");
    const name = `Cli ${randomBytes(3).toString("hex")}`;
    const rect = await lethe(["request", "rectification", "--subject", s.email, "--by", "email", "--set", `full_name=${name}`, "--wait", "--timeout", "60"]);
    expect(rect.code).toBe(0);
    const view = JSON.parse(rect.stdout) as RequestView;
    expect(view.status).toBe("completed");
    expect(view.rights?.fields).toEqual(["full_name"]);
    expect(await queryRows(w.h.appDb.url, `SELECT full_name FROM customers WHERE id = $1`, [s.id])).toEqual([{ full_name: name }]);

    const bad = await lethe(["request", "rectification", "--subject", String(s.id), "--set", "birth_date=soon"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("lethe request rectification: birth_date: is not a valid value");

    const restrict = await lethe(["request", "restriction", "--subject", String(s.id), "--ground", "c"]);
    expect(restrict.code).toBe(0);
    const rid = (JSON.parse(restrict.stdout) as RequestView).id;
    const status = await lethe(["rights", "restrictions", "--subject", String(s.id)]);
    const asked = JSON.parse(status.stdout) as { restricted: boolean; restrictions: Array<{ id: string }> };
    expect(asked.restricted).toBe(true);

    // An objection under 21(1) waits for a decision: extended, then decided.
    const objection = await lethe(["request", "objection", "--subject", String(s.id), "--purpose", "fraud-prevention"]);
    const oid = (JSON.parse(objection.stdout) as RequestView).id;
    const extend = await lethe(["rights", "extend", oid, "--months", "1", "--reason", "Many archives to search."]);
    expect(extend.code).toBe(0);
    expect(JSON.parse(extend.stdout)).toEqual(expect.objectContaining({ id: oid, dueAt: expect.any(String) }));
    const twice = await lethe(["rights", "extend", oid, "--months", "1", "--reason", "again"]);
    expect(twice).toMatchObject({ code: 1 });
    expect(twice.stderr).toContain("already-extended");
    const decide = await lethe(["rights", "decide", oid, "--outcome", "upheld", "--grounds", "Fair point."]);
    expect(decide.code).toBe(0);
    await w.h.waitForStatus(oid, ["completed"], 60_000);

    const lift = await lethe(["rights", "lift", asked.restrictions[0]!.id, "--reason", "Claim settled."]);
    expect(lift.code).toBe(0);
    expect(JSON.parse(lift.stdout).status).toBe("lifting");
    const recipients = await lethe(["rights", "recipients", rid]);
    expect((JSON.parse(recipients.stdout) as Array<{ recipient: string }>).map((r) => r.recipient).sort()).toEqual(expect.arrayContaining(["crm", "mailer"]));
  });
});
