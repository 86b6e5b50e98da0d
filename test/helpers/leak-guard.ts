import type { EnvironmentContext, JestEnvironmentConfig } from "@jest/environment";
import { TestEnvironment } from "jest-environment-node";
import { OPEN_HANDLES_KEY, type OpenHandle } from "./open-handles";

/**
 * The test environment (jest.config.js) that fails a test file which leaks: after the file's last
 * `afterAll`, (1) anything opened through the shared helpers and not closed (see
 * ./open-handles.ts: scratch databases, harnesses, workers, child processes, fake processors,
 * SMTP catchers, DataSources) and (2) any socket, server, child process or timer that keeps the
 * process alive and was not there when the file started (`process.getActiveResourcesInfo()`,
 * which also sees pg clients, ioredis connections and BullMQ workers made anywhere). Closing is
 * asynchronous (a socket is released a moment after `end()` resolves), so (2) is given
 * {@link SETTLE_MS} to go back to where it started before the file fails.
 */

/** How long resources may take to be released after the last `afterAll`. */
const SETTLE_MS = 3000;

/** Resource types that come and go on their own (file system requests, immediates). */
const TRANSIENT = new Set(["FSReqCallback", "FSReqPromise", "Immediate", "FileHandleCloseReq", "GetAddrInfoReqWrap"]);

/** The parts of jest-circus's event and state this environment reads. */
interface CircusEvent {
  name: string;
}
interface CircusState {
  unhandledErrors: unknown[];
}

type Counts = Map<string, number>;

function activeResources(): Counts {
  const counts: Counts = new Map();
  for (const type of process.getActiveResourcesInfo()) if (!TRANSIENT.has(type)) counts.set(type, (counts.get(type) ?? 0) + 1);
  return counts;
}

/** What `now` holds beyond `start`, as `2 TCPSocketWrap` lines. */
function excess(start: Counts, now: Counts): string[] {
  const out: string[] = [];
  for (const [type, n] of now) if (n > (start.get(type) ?? 0)) out.push(`${n - (start.get(type) ?? 0)} ${type}`);
  return out;
}

/** jest-environment-node plus the leak check (see the module comment). */
export default class LeakGuardEnvironment extends TestEnvironment {
  private readonly file: string;
  private start: Counts = new Map();

  constructor(config: JestEnvironmentConfig, context: EnvironmentContext) {
    super(config, context);
    this.file = context.testPath;
  }

  override async setup(): Promise<void> {
    await super.setup();
    this.start = activeResources();
  }

  /** Called by jest-circus for every event; checks for leaks once the whole file has run. */
  async handleTestEvent(event: CircusEvent, state: CircusState): Promise<void> {
    if (event.name !== "run_finish") return;
    const problems: string[] = [];
    const tracked = this.global[OPEN_HANDLES_KEY] as Set<OpenHandle> | undefined;
    for (const h of tracked ?? []) if (h.isOpen()) problems.push(`left behind: ${h.kind} ${h.label}`);
    let left = excess(this.start, activeResources());
    const deadline = Date.now() + SETTLE_MS;
    while (left.length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20).unref());
      left = excess(this.start, activeResources());
    }
    if (left.length > 0) problems.push(`still open ${SETTLE_MS / 1000} s after the last afterAll: ${left.join(", ")}`);
    if (problems.length > 0) {
      const err = new Error(`${this.file} leaked (close it in afterAll/afterEach):\n  - ${problems.join("\n  - ")}`);
      err.stack = `${err.name}: ${err.message}`;
      state.unhandledErrors.push(err);
    }
  }
}
