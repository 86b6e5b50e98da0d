/**
 * The demo's list of things to undo at the end. Scratch databases, the queue prefix and free
 * ports come from `support/` (shared with the tests and the benchmarks).
 */

/** One thing to undo; `fn` may return a short line saying what it did. */
interface TearDownStep {
  name: string;
  fn: () => Promise<unknown>;
}

/**
 * What to undo at the end, run last-in first-out. Every step runs even when an earlier one
 * fails; running twice runs once. A step added while tear-down is under way runs at once.
 */
export class TearDownList {
  private readonly steps: TearDownStep[] = [];
  private running: Promise<{ done: string[]; failed: string[] }> | undefined;

  /** Adds a step (see the class comment). */
  add(name: string, fn: () => Promise<unknown>): void {
    if (this.running) {
      fn().catch(() => undefined);
      return;
    }
    this.steps.push({ name, fn });
  }

  /** True once {@link run} was called. */
  get isStarted(): boolean {
    return this.running !== undefined;
  }

  /** Names of the steps still to run (for a message when the process must exit early). */
  pending(): string[] {
    return this.steps.map((s) => s.name).reverse();
  }

  /** Runs every step; `done` holds what each reported, `failed` one line per failed step. */
  run(): Promise<{ done: string[]; failed: string[] }> {
    this.running ??= (async () => {
      const done: string[] = [];
      const failed: string[] = [];
      while (this.steps.length > 0) {
        const step = this.steps.pop()!;
        try {
          const said = await step.fn();
          done.push(typeof said === "string" ? said : step.name);
        } catch (err) {
          failed.push(`${step.name}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      return { done, failed };
    })();
    return this.running;
  }
}
