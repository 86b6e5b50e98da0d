/**
 * Group commit: callers submit one item each and wait for its result; items are written together,
 * one statement per batch. A batch goes when `minBatch` items wait or the first of them has waited
 * `lingerMs`, whichever is first; items submitted while a flush runs go with the next one.
 */
export class GroupCommit<I, O> {
  private pending: Array<{ item: I; resolve: (o: O) => void; reject: (err: unknown) => void }> = [];
  private running = false;
  private timer: NodeJS.Timeout | null = null;

  /**
   * `flush` writes a batch and returns each item's result, in order; a flush that throws rejects
   * every item of its batch. (Default: `minBatch` 1, `lingerMs` 0, `maxBatch` 500)
   */
  constructor(
    private readonly flush: (items: I[]) => Promise<O[]>,
    private readonly opts: { minBatch?: number; lingerMs?: number; maxBatch?: number } = {},
  ) {}

  /** Queues `item` for a flush; resolves with its result. */
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
      for (const b of batch) b.reject(err);
    } finally {
      this.running = false;
      this.schedule();
    }
  }
}
