import { GroupCommit } from "../../src/db/group-commit";

/** A flush that records each batch and answers each item doubled; `gate` holds a flush open until released. */
function recorder() {
  const batches: number[][] = [];
  let release: (() => void) | null = null;
  const flush = async (items: number[]): Promise<number[]> => {
    batches.push(items);
    if (items.includes(-1)) throw new Error("bad batch");
    await new Promise<void>((r) => (release = r));
    return items.map((i) => i * 2);
  };
  return { batches, flush, open: () => release?.() };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("group commit", () => {
  it("writes what arrives while a flush runs in the next flush, one statement for all of it", async () => {
    const r = recorder();
    const g = new GroupCommit(r.flush);
    const first = g.submit(1);
    await tick();
    const rest = [2, 3, 4].map((i) => g.submit(i));
    await tick();
    expect(r.batches).toEqual([[1]]);
    r.open();
    expect(await first).toBe(2);
    await tick();
    expect(r.batches).toEqual([[1], [2, 3, 4]]);
    r.open();
    expect(await Promise.all(rest)).toEqual([4, 6, 8]);
  });

  it("waits for minBatch items before it flushes, or for the first item's linger", async () => {
    const r = recorder();
    const g = new GroupCommit(r.flush, { minBatch: 3, lingerMs: 60_000 });
    const a = [g.submit(1), g.submit(2)];
    await tick();
    expect(r.batches).toEqual([]);
    const c = g.submit(3);
    await tick();
    expect(r.batches).toEqual([[1, 2, 3]]);
    r.open();
    expect(await Promise.all([...a, c])).toEqual([2, 4, 6]);
    // One item alone goes once its linger is over.
    const lingering = new GroupCommit(r.flush, { minBatch: 3, lingerMs: 20 });
    const lone = lingering.submit(5);
    while (r.batches.length < 2) await new Promise((res) => setTimeout(res, 5));
    expect(r.batches[1]).toEqual([5]);
    r.open();
    expect(await lone).toBe(10);
  });

  it("rejects every item of a batch whose flush failed, and goes on with the next", async () => {
    const r = recorder();
    const g = new GroupCommit(r.flush, { minBatch: 2, lingerMs: 60_000 });
    const bad = g.submit(-1);
    const also = g.submit(7);
    await expect(bad).rejects.toThrow("bad batch");
    await expect(also).rejects.toThrow("bad batch");
    const good = g.submit(8);
    const next = g.submit(9);
    await tick();
    expect(r.batches.at(-1)).toEqual([8, 9]);
    r.open();
    expect(await Promise.all([good, next])).toEqual([16, 18]);
  });
});
