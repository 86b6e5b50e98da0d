import { createServer } from "node:net";

/**
 * The demo's own bits of tear-down: a free port for the API and the list of things to undo at
 * the end. Scratch databases and the queue prefix come from `support/` (shared with the tests
 * and the benchmarks).
 */

/** A TCP port that was free a moment ago on `host`, so the API's public URL can be known before it starts. */
export async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

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
