/**
 * Group commit: callers submit one item each and wait for its result; items are written together,
 * one statement (one round trip, one commit) per batch. A batch goes when `minBatch` items wait or
 * the first of them has waited `lingerMs`, whichever is first; items submitted while a batch is in
 * flight go with the next one. With the defaults (`minBatch` 1, `lingerMs` 0) a call made while
 * nothing is in flight goes at once — no added latency when idle — and a busy process pays a
 * fraction of a round trip per item.
 *
 * Used for the statements every request runs on Lethe's own database (submit, load, complete: see
 * `db/tables/subject-request`) and for the breach notices' claims and outcomes
 * (`incidents/notice-sender`).
 */
export interface GroupCommitOptions {
  /** Items that make a batch go at once. (Default: 1) */
  minBatch?: number;
  /** How long the first item of a smaller batch waits for more. (Default: 0) */
  lingerMs?: number;
  /** Items per batch at the most. (Default: 500) */
  maxBatch?: number;
  /**
   * When a batch fails, run its items again one by one, so one bad item fails only its own caller.
   * (Default: false — every item of the batch is rejected with the batch's error)
   */
  retryOneByOne?: boolean;
}

export class GroupCommit<I, O> {
  private pending: Array<{ item: I; resolve: (o: O) => void; reject: (err: unknown) => void }> = [];
  private running = false;
  private timer: NodeJS.Timeout | null = null;

  /** `flush` writes a batch and returns each item's result, in order. */
  constructor(
    private readonly flush: (items: I[]) => Promise<O[]>,
    private readonly opts: GroupCommitOptions = {},
  ) {}

  /** Queues `item` for a batch; resolves with its result. */
  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running || this.pending.length === 0) return;
    if (this.pending.length >= (this.opts.minBatch ?? 1)) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      void this.drain();
    } else {
      this.timer ??= setTimeout(() => {
        this.timer = null;
        void this.drain();
      }, this.opts.lingerMs ?? 0);
    }
  }

  private async drain(): Promise<void> {
    if (this.running || this.pending.length === 0) return;
    this.running = true;
    const batch = this.pending.splice(0, this.opts.maxBatch ?? 500);
    try {
      const out = await this.flush(batch.map((b) => b.item));
      batch.forEach((b, i) => b.resolve(out[i]!));
    } catch (err) {
      if (this.opts.retryOneByOne && batch.length > 1) {
        await Promise.all(
          batch.map((b) =>
            this.flush([b.item]).then(
              (out) => b.resolve(out[0]!),
              (e: unknown) => b.reject(e),
            ),
          ),
        );
      } else for (const b of batch) b.reject(err);
    } finally {
      this.running = false;
      this.schedule();
    }
  }
}

/** One {@link GroupCommit} per owner object (a DataSource) and statement. */
export function groupCommitOf<K extends object, I, O>(cache: WeakMap<K, GroupCommit<I, O>>, owner: K, make: () => GroupCommit<I, O>): GroupCommit<I, O> {
  let g = cache.get(owner);
  if (!g) cache.set(owner, (g = make()));
  return g;
}
