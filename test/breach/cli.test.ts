import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IncidentView } from "../../src/incidents/incident-view";
import type { WorkerHandle } from "../../workers/worker";
import { runTs } from "../helpers/child-process";
import { createBreachHarness, HIGH_SEVERITY, NOTICE_TEXTS, CONTACT, type BreachHarness } from "./support";

/** `lethe breach …` mirrors the routes: the same register, from a terminal. */
describe("lethe breach (CLI)", () => {
  let b: BreachHarness;
  let worker: WorkerHandle;
  let dir: string;
  const lethe = async (...args: string[]) => {
    const r = await runTs("workers/cli.ts", ["breach", ...args], b.h.env, 120_000);
    return { ...r, json: () => JSON.parse(r.stdout) as Record<string, unknown> };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lethe-breach-cli-"));
    b = await createBreachHarness({ customers: 40 });
    worker = await b.h.startWorker({ queues: ["maintenance", "breach", "mail"] });
  }, 120_000);

  afterAll(async () => {
    await worker?.close();
    await b?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it("creates, scopes from a file of keys, freezes, decides, notifies with a progress bar, closes", async () => {
    const now = Date.now();
    const created = await lethe(
      "create",
      "--by",
      "alice",
      "--json",
      JSON.stringify({
        title: "Lost backup tape",
        description: "A backup tape went missing.",
        kinds: ["confidentiality", "availability"],
        detectedAt: new Date(now - 7200_000).toISOString(),
        awareAt: new Date(now - 3600_000).toISOString(),
      }),
    );
    expect(created.code).toBe(0);
    const incident = created.json() as unknown as IncidentView;
    expect(incident).toMatchObject({ status: "open", createdBy: "alice" });
    const ref = incident.reference;

    const keys = join(dir, "keys.txt");
    writeFileSync(keys, "1\n2\n3\n\n 4 \n40\n999\n");
    const scoped = await lethe("scope", ref, "--keys-file", keys, "--store", "app", "--table", "customers");
    expect(scoped.code).toBe(0);
    expect(scoped.json()).toMatchObject({ state: "draft", people: 5, summary: "6 keys of app.customers" });
    const frozen = await lethe("freeze", ref, String(scoped.json().id), "--wait");
    expect(frozen.json()).toMatchObject({ state: "frozen", people: 5 });

    expect((await lethe("assess", ref, "--json", JSON.stringify(HIGH_SEVERITY))).json()).toMatchObject({ band: "high" });
    expect(
      (
        await lethe("decide", ref, "--by", "dpo-1", "--json", JSON.stringify({ notifyAuthority: true, notifySubjects: true, rationale: "tape not encrypted" }))
      ).json(),
    ).toMatchObject({ decidedBy: "dpo-1" });
    expect((await lethe("notice", ref, "--json", JSON.stringify({ texts: NOTICE_TEXTS, contact: CONTACT }))).json()).toMatchObject({
      version: 1,
      locales: ["en", "de"],
    });

    const notified = await lethe("notify", ref, "--wait");
    expect(notified.code).toBe(0);
    expect(notified.json()).toMatchObject({ state: "done", total: 5, sent: 5, pending: 0 });
    expect(notified.stderr).toMatch(/\[#+\] 5\/5 100%\s+sent 5 · undeliverable 0 · pending 0 \(done\)/);
    expect(b.sink.messages).toHaveLength(5);

    const shown = await lethe("show", ref);
    expect(shown.json()).toMatchObject({ reference: ref, notices: { sent: 5 }, affected: { people: 5 } });
    const refused = await lethe("close", ref);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^lethe breach close: incident cannot move from assessed to closed: the decision requires notifying the authority/);
    const csv = await lethe("export", "--format", "csv");
    expect(csv.stdout.split("\r\n")[1]).toContain(ref);
    const missing = await lethe("show", "BR-1999-0001");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no incident has the id or reference "BR-1999-0001"');
  }, 300_000);
});
