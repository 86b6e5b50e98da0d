/**
 * What a test file opened through the shared helpers (databases, connections, workers, child
 * processes, servers) and has not closed yet. The leak guard (test/helpers/leak-guard.ts) reads
 * this after the file's last `afterAll` and fails the file for every entry still open.
 */

/** One thing a test opened and must close. */
export interface OpenHandle {
  /** What it is, e.g. `scratch database`, `worker`, `child process`. */
  kind: string;
  /** Which one, e.g. the database's name or the process's pid and file. */
  label: string;
  /** True while it still needs closing. */
  isOpen(): boolean;
}

/** The global the leak guard reads (the test file's global object, shared with its environment). */
export const OPEN_HANDLES_KEY = "__letheOpenHandles";

function registry(): Set<OpenHandle> {
  const g = globalThis as unknown as Record<string, Set<OpenHandle> | undefined>;
  return (g[OPEN_HANDLES_KEY] ??= new Set<OpenHandle>());
}

/**
 * Records a handle. `isOpen` says whether it still is (Default: until the returned function is
 * called); call the returned function once it is closed.
 */
export function trackHandle(kind: string, label: string, isOpen?: () => boolean): () => void {
  let closed = false;
  const handle: OpenHandle = { kind, label, isOpen: () => !closed && (isOpen ? isOpen() : true) };
  registry().add(handle);
  return () => {
    closed = true;
    registry().delete(handle);
  };
}

/** The handles recorded and still open, as `kind label` lines. */
export function openHandles(): string[] {
  return [...registry()].filter((h) => h.isOpen()).map((h) => `${h.kind} ${h.label}`);
}
