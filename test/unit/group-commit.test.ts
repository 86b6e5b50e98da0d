import { GroupCommit } from "../../src/db/group-commit";

describe("GroupCommit", () => {
  it("sends the first call at once and groups the calls made while it is in flight", async () => {
    const batches: number[][] = [];
    const g = new GroupCommit<number, number>(async (items) => {
      batches.push(items);
      await new Promise((resolve) => setTimeout(resolve, 20));
      return items.map((i) => i * 10);
    });
    const first = g.call(1);
    const rest = [2, 3, 4].map((i) => g.call(i));
    expect(await Promise.all([first, ...rest])).toEqual([10, 20, 30, 40]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  it("caps a batch at its maximum size", async () => {
    const batches: number[][] = [];
    const g = new GroupCommit<number, number>(async (items) => {
      batches.push(items);
      await new Promise((resolve) => setImmediate(resolve));
      return items;
    }, 2);
    await Promise.all([1, 2, 3, 4, 5].map((i) => g.call(i)));
    expect(batches).toEqual([[1], [2, 3], [4, 5]]);
  });

  it("retries a failed batch item by item, so only the bad item fails", async () => {
    const g = new GroupCommit<number, number>(async (items) => {
      await new Promise((resolve) => setImmediate(resolve));
      if (items.includes(13)) throw new Error("bad item");
      return items;
    });
    const first = g.call(1);
    const [ok, bad, ok2] = await Promise.allSettled([g.call(2), g.call(13), g.call(3)]);
    expect(await first).toBe(1);
    expect(ok).toEqual({ status: "fulfilled", value: 2 });
    expect(bad.status).toBe("rejected");
    expect(ok2).toEqual({ status: "fulfilled", value: 3 });
  });

  it("starts a new batch after an idle spell", async () => {
    const batches: number[][] = [];
    const g = new GroupCommit<number, number>(async (items) => {
      batches.push(items);
      return items;
    });
    await g.call(1);
    await g.call(2);
    expect(batches).toEqual([[1], [2]]);
  });
});
