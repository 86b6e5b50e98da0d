/**
 * Group commit for the statements every request runs on Lethe's own database. A call made while
 * no batch is in flight goes at once (no added latency when idle); calls made while one is in
 * flight wait and go together as the next batch: one statement, one round trip and, for a write,
 * one commit for all of them. Under load (many jobs at once in a worker) that is a fraction of a
 * round trip per request instead of one.
 *
 * A batch that fails is retried item by item, so one bad item fails only its own caller.
 */
export class GroupCommit<I, O> {
  private readonly waiting: Array<{ item: I; resolve: (out: O) => void; reject: (err: unknown) => void }> = [];
  private inFlight = false;

  /** `run` answers the items of one batch, in order (one output per item). */
  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly maxBatch = 64,
  ) {}

  /** Runs `item` in the next batch. */
  call(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (!this.inFlight) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.inFlight = true;
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting.splice(0, this.maxBatch);
        try {
          const out = await this.run(batch.map((b) => b.item));
          batch.forEach((b, i) => b.resolve(out[i]!));
        } catch (err) {
          if (batch.length === 1) batch[0]!.reject(err);
          else
            await Promise.all(
              batch.map((b) =>
                this.run([b.item]).then(
                  (out) => b.resolve(out[0]!),
                  (e: unknown) => b.reject(e),
                ),
              ),
            );
        }
      }
    } finally {
      this.inFlight = false;
    }
  }
}

/** One {@link GroupCommit} per owner object (a DataSource) and statement. */
export function groupCommitOf<K extends object, I, O>(cache: WeakMap<K, GroupCommit<I, O>>, owner: K, make: () => GroupCommit<I, O>): GroupCommit<I, O> {
  let g = cache.get(owner);
  if (!g) cache.set(owner, (g = make()));
  return g;
}
