import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Client } from "pg";
import type { Manifest } from "../../src/exports/manifest";
import { mailJobId } from "../../src/queues/jobs/send-mail";
import { runSql } from "../helpers/db";
import type { TsChild } from "../helpers/child-process";
import { reconcilerPassIn, waitForJobState, waitForQueuesIdle } from "../helpers/job-events";
import { waitFor } from "../helpers/wait";
import { zipEntries, zipEntry, zipEntryDigest } from "../helpers/zip";
import { createSmallShop, manyEventsSql, smallShopMapFile } from "./fixtures";
import { createExportHarness, linkIn, type ExportHarness } from "./support";

const ROWS = 1_000_000;

/** Peak resident set size of a live process, in MB (VmHWM from /proc). */
function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

async function countEvents(url: string, customerId: number): Promise<number> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE customer_id = $1`, [customerId])).rows[0]!.n;
  } finally {
    await c.end();
  }
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

describe("exporting a subject with a 1,000,000-row table (worker child processes)", () => {
  let x: ExportHarness;

  beforeAll(async () => {
    x = await createExportHarness({
      map: smallShopMapFile(),
      prepare: async (url) => {
        await createSmallShop(url);
        await runSql(url, manyEventsSql(1, ROWS));
      },
      env: { LETHE_LOCK_DURATION_MS: "2000", LETHE_RECONCILE_EVERY_MS: "1000" },
    });
  }, 180_000);

  afterAll(async () => {
    await x?.cleanup();
  });

  /** Spawns `lethe worker` and waits until it has started. */
  async function worker(): Promise<TsChild> {
    const child = x.h.spawn("workers/worker.ts", [], { LOG_LEVEL: "info" });
    await waitFor(async () => (child.stdout().includes("worker started") ? true : undefined), "the worker to start", 60_000);
    return child;
  }

  it("survives a SIGKILL mid-export: a fresh worker completes it, one mail only, memory stays flat", async () => {
    const first = await worker();
    const request = await x.submitExport({ id: "1" });

    // Mid-export: the zip is being written.
    const partial = await waitFor(
      async () => {
        const rows = (await x.h.ds.query(`SELECT status, path FROM lethe.export WHERE request_id = $1`, [request.id])) as Array<{
          status: string;
          path: string;
        }>;
        const file = rows[0]?.path ? join(x.exportDir, `${rows[0].path}.partial`) : null;
        try {
          return file && rows[0]!.status === "building" && statSync(file).size > 2_000_000 ? file : undefined;
        } catch {
          return undefined;
        }
      },
      "the zip to be half written",
      120_000,
      20,
    );
    first.proc.kill("SIGKILL");
    await first.exited;
    const killedAt = statSync(partial).size;
    expect((await x.h.waitForStatus(request.id, ["running"])).export).toMatchObject({ status: "building", delivery: null });
    expect(x.smtp.messages).toHaveLength(0);

    // A fresh worker takes the stalled job over and completes the export.
    const second = await worker();
    const view = await x.h.waitForStatus(request.id, ["completed", "failed"], 180_000);
    const peak = peakRssMb(second.proc.pid!);
    expect(view.error).toBeNull();
    expect(view.status).toBe("completed");
    // One mail only: its job has ended, the reconciler has had a whole pass, nothing is left to run.
    await waitForJobState(x.mailQueue, mailJobId("export", view.export!.id));
    await reconcilerPassIn(x.h.config);
    await waitForQueuesIdle([x.exportQueue, x.mailQueue]);
    expect(x.smtp.messages).toHaveLength(1);
    expect(x.smtp.messages[0]!.to).toEqual(["customer1@shop.example"]);
    // Streaming: the worker that wrote the whole zip stayed far below the size of its data.
    expect(peak).toBeLessThan(300);

    // The zip is whole: the half-written one was replaced, nothing partial is left.
    const exp = view.export!;
    expect(readdirSync(x.exportDir).filter((f) => f.endsWith(".partial"))).toEqual([]);
    expect(exp.sizeBytes).toBeGreaterThan(killedAt);
    const file = join(x.exportDir, "downloaded.zip");
    const res = await fetch(linkIn(x.smtp.messages[0]!.parsed.text));
    expect(res.status).toBe(200);
    await pipeline(Readable.fromWeb(res.body as import("node:stream/web").ReadableStream), createWriteStream(file));
    expect(await sha256File(file)).toBe(exp.sha256);
    expect((await zipEntries(file)).sort()).toEqual(
      ["customers", "events", "orders"]
        .flatMap((t) => [`data/shop/${t}.csv`, `data/shop/${t}.json`])
        .concat(["index.html", "manifest.json"])
        .sort(),
    );
    const manifest = JSON.parse((await zipEntry(file, "manifest.json")).toString("utf8")) as Manifest;
    const n = await countEvents(x.h.appDb.url, 1);
    expect(n).toBe(ROWS + 5);
    for (const name of ["data/shop/events.json", "data/shop/events.csv"]) {
      const entry = manifest.entries.find((e) => e.path === name)!;
      expect(entry.rows).toBe(n);
      const digest = await zipEntryDigest(file, name);
      expect({ bytes: digest.bytes, sha256: digest.sha256 }).toEqual({ bytes: entry.bytes, sha256: entry.sha256 });
      // JSON: "[", one line per row, "]"; CSV: the header and one line per row (no value holds a newline).
      expect(digest.newlines).toBe(name.endsWith(".json") ? n + 2 : n + 1);
    }
    expect(exp.tables).toEqual(expect.arrayContaining([{ store: "shop", table: "events", rows: n }]));
  }, 400_000);
});
