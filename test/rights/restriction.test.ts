import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { WorkerHandle } from "../../workers/worker";
import { queryRows } from "../helpers/db";
import { waitFor } from "../helpers/wait";
import { zipEntry } from "../helpers/zip";
import { createRightsWorld, DPO_KEY, type RightsWorld } from "./fixture";
import { markerLeaks } from "./leaks";

/**
 * Restriction (Art. 18) end to end: in force as soon as the API answered, a sweep skips the
 * restricted subject and removes an unrestricted twin, applications can ask (API and the SQL
 * view), exports mark the data, processors are told; a lift is refused until its notice to the
 * person was sent (18(3)), then takes effect and the processors are told of it. A notice that
 * cannot be sent keeps the restriction until a `dpo` key records why.
 */
jest.setTimeout(180_000);

const OLD_REVIEWS = {
  name: "old-reviews",
  description: "Reviews older than a year are deleted.",
  store: "shop",
  table: "reviews",
  age: { column: "created_at", olderThan: "P1Y" },
  action: "delete",
  schedule: { cron: "0 3 * * *" },
  purpose: "Product reviews the customer published in the shop",
  legalBasis: "Art. 6(1)(f)",
};

describe("restriction", () => {
  let w: RightsWorld;
  let exportDir: string;
  let worker: WorkerHandle;

  beforeAll(async () => {
    exportDir = mkdtempSync(join(tmpdir(), "lethe-rights-exports-"));
    w = await createRightsWorld({
      env: { LETHE_EXPORT_DIR: exportDir },
      editMap: (raw) => {
        (raw as { retention?: unknown[] }).retention = [OLD_REVIEWS];
      },
    });
    // No mail queue yet: notices wait, so a lift can be seen waiting for its notice.
    worker = await w.startRights(["erasure", "maintenance", "rights", "retention", "export"]);
  });

  afterAll(async () => {
    await w?.cleanup();
    rmSync(exportDir, { recursive: true, force: true });
  });

  const reviews = (id: number) => queryRows<{ n: number }>(w.h.appDb.url, `SELECT count(*)::int AS n FROM reviews WHERE customer_id = $1`, [id]);

  async function sweep(): Promise<{ rows: { matched: number; held: number } }> {
    const run = await w.http<{ id: string }>("POST", "/v1/retention/old-reviews/runs", {});
    expect(run.status).toBe(202);
    return waitFor(
      async () => {
        const v = await w.http<{ status: string; rows: { matched: number; held: number } }>("GET", `/v1/retention/runs/${run.json.id}`);
        if (v.json.status === "failed") throw new Error(`sweep failed: ${JSON.stringify(v.json)}`);
        return v.json.status === "completed" ? v.json : undefined;
      },
      "the sweep to complete",
      60_000,
    );
  }

  it("is in force at once: a sweep skips the restricted subject and removes its unrestricted twin; apps can ask; exports mark it; processors are told", async () => {
    const kept = await w.addRightsSubject("restricted");
    const twin = await w.addRightsSubject("twin");
    expect(await reviews(kept.id)).toEqual([{ n: 2 }]);

    const res = await w.http<{ id: string; status: string }>("POST", "/v1/requests", {
      type: "restriction",
      subject: { email: kept.email },
      ground: "c",
      purpose: "orders",
    });
    expect(res.status).toBe(202);
    // In force before any worker looked at it.
    const asked = await w.http<{ restricted: boolean; restrictions: Array<{ ground: string; purpose: string; status: string }> }>(
      "GET",
      `/v1/subjects/restrictions?email=${encodeURIComponent(kept.email)}`,
    );
    expect(asked.json).toEqual(
      expect.objectContaining({ restricted: true, restrictions: [expect.objectContaining({ ground: "c", purpose: "orders", status: "active" })] }),
    );
    expect((await w.http<{ restricted: boolean }>("GET", `/v1/subjects/restrictions?id=${twin.id}`)).json.restricted).toBe(false);
    // The view applications join: Lethe's schema here shares nothing with the shop's, so ask Lethe's database.
    expect(await w.h.ds.query(`SELECT subject_key, ground, purpose FROM lethe.restricted_subject_keys`)).toContainEqual({
      subject_key: String(kept.id),
      ground: "c",
      purpose: "orders",
    });

    const done = await w.h.waitForStatus(res.json.id, ["completed", "failed"], 60_000);
    expect(done.status).toBe("completed");
    for (const p of [w.crm, w.mailer]) {
      const calls = p.calls.filter((c) => c.body?.requestId === res.json.id);
      expect(calls.map((c) => [c.idempotencyKey, JSON.parse(c.rawBody).restriction])).toEqual([
        [`restrict-${res.json.id}-${p.name}`, { ground: "c", purpose: "orders" }],
      ]);
    }

    const run = await sweep();
    expect(run.rows.held).toBeGreaterThanOrEqual(2);
    expect(await reviews(kept.id)).toEqual([{ n: 2 }]);
    expect(await reviews(twin.id)).toEqual([{ n: 0 }]);

    const exp = await w.http<{ id: string }>("POST", "/v1/requests", { type: "export", subject: { id: String(kept.id) } });
    const file = await waitFor(
      async () => {
        const rows = (await w.h.ds.query(`SELECT status, path FROM lethe.export WHERE request_id = $1`, [exp.json.id])) as Array<{
          status: string;
          path: string;
        }>;
        return rows[0]?.status === "ready" ? join(exportDir, rows[0].path) : undefined;
      },
      "the export to be built",
      60_000,
    );
    const manifest = JSON.parse((await zipEntry(file, "manifest.json")).toString("utf8")) as { restrictions?: unknown };
    expect(manifest.restrictions).toEqual([{ ground: "c", purpose: "orders", since: expect.any(String) }]);
    expect((await zipEntry(file, "index.html")).toString("utf8")).toContain("Restricted data");
    expect(await markerLeaks(w, [kept.marker, twin.marker])).toEqual([]);
  });

  it("a lift is refused until its notice was sent; then it takes effect and the processors are told", async () => {
    const s = await w.addRightsSubject("lift");
    const res = await w.http<{ id: string }>("POST", "/v1/requests", { type: "restriction", subject: { id: String(s.id) }, ground: "b" });
    await w.h.waitForStatus(res.json.id, ["completed"], 60_000);
    const [restriction] = (await w.h.ds.query(`SELECT id FROM lethe.restriction WHERE request_id = $1`, [res.json.id])) as Array<{ id: string }>;
    const writerLift = await w.http("POST", `/v1/restrictions/${restriction!.id}/lift`, { reason: "x" });
    expect(writerLift.status).toBe(403);

    const lift = await w.as<{ status: string; noticeId: string }>(DPO_KEY, "POST", `/v1/restrictions/${restriction!.id}/lift`, {
      reason: "The legal claim you needed the data for was settled.",
    });
    expect(lift.status).toBe(202);
    expect(lift.json.status).toBe("lifting");
    // The notice has not gone out (no mail worker): the restriction is in force, a second lift is refused, a sweep still skips it.
    const again = await w.as<{ detail: string }>(DPO_KEY, "POST", `/v1/restrictions/${restriction!.id}/lift`, { reason: "again" });
    expect(again.status).toBe(409);
    expect(again.json.detail).toContain("18(3)");
    expect((await w.http<{ restricted: boolean }>("GET", `/v1/subjects/restrictions?id=${s.id}`)).json.restricted).toBe(true);
    await sweep();
    expect(await reviews(s.id)).toEqual([{ n: 2 }]);
    expect(w.smtp.messages.filter((m) => m.to.includes(s.email))).toEqual([]);

    const mailer = await w.startRights(["mail"]);
    await waitFor(
      async () => ((await w.http<{ status: string }>("GET", `/v1/restrictions/${restriction!.id}`)).json.status === "lifted" ? true : undefined),
      "the lift",
    );
    const mail = w.smtp.messages.filter((m) => m.to.includes(s.email));
    expect(mail).toHaveLength(1);
    expect(mail[0]!.parsed.text).toContain("The legal claim you needed the data for was settled.");
    expect((await w.http<{ restricted: boolean }>("GET", `/v1/subjects/restrictions?id=${s.id}`)).json.restricted).toBe(false);
    await waitFor(
      async () =>
        w.crm.calls.some((c) => c.idempotencyKey === `lift-restriction-${res.json.id}-crm`) &&
        w.mailer.calls.some((c) => c.idempotencyKey === `lift-restriction-${res.json.id}-mailer`)
          ? true
          : undefined,
      "the processors told of the lift",
    );
    const [row] = (await w.h.ds.query(`SELECT subject_key, subject FROM lethe.restriction WHERE id = $1`, [restriction!.id])) as Array<{
      subject_key: string | null;
      subject: Buffer | null;
    }>;
    expect(row).toEqual({ subject_key: null, subject: null });
    await mailer.close();
    void worker;
  });

  it("a notice that cannot be sent keeps the restriction until a dpo key records why the person cannot be told", async () => {
    const s = await w.addRightsSubject("nomail");
    const res = await w.http<{ id: string }>("POST", "/v1/requests", { type: "restriction", subject: { id: String(s.id) }, ground: "a" });
    await w.h.waitForStatus(res.json.id, ["completed"], 60_000);
    const [restriction] = (await w.h.ds.query(`SELECT id FROM lethe.restriction WHERE request_id = $1`, [res.json.id])) as Array<{ id: string }>;
    // The person left no address to write to.
    await queryRows(w.h.appDb.url, `UPDATE customers SET email = '' WHERE id = $1`, [s.id]);
    const mailer = await w.startRights(["mail"]);
    const lift = await w.as<{ noticeId: string }>(DPO_KEY, "POST", `/v1/restrictions/${restriction!.id}/lift`, { reason: "Checked: the data is accurate." });
    expect(lift.status).toBe(202);
    await waitFor(async () => {
      const rows = (await w.h.ds.query(`SELECT status, error_code FROM lethe.rights_notice WHERE id = $1`, [lift.json.noticeId])) as Array<{
        status: string;
        error_code: string;
      }>;
      return rows[0]?.status === "failed" ? rows[0] : undefined;
    }, "the notice to fail");
    expect((await w.http<{ status: string }>("GET", `/v1/restrictions/${restriction!.id}`)).json.status).toBe("lifting");
    const forced = await w.as<{ status: string; noticeSkippedReason: string }>(DPO_KEY, "POST", `/v1/restrictions/${restriction!.id}/lift`, {
      reason: "Checked: the data is accurate.",
      noticeNotPossible: "No address on file; the person cannot be reached.",
    });
    expect(forced.status).toBe(200);
    expect(forced.json).toEqual(expect.objectContaining({ status: "lifted", noticeSkippedReason: "No address on file; the person cannot be reached." }));
    await mailer.close();
  });
});
