import { spawn, type ChildProcess } from "node:child_process";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { trackHandle } from "./open-handles";

/** Root of the repository (child processes run from here). */
export const REPO_ROOT = resolve(__dirname, "..", "..");

/** A child process running a TypeScript entrypoint of the repository. */
export interface TsChild {
  proc: ChildProcess;
  /** Everything written so far. */
  stdout(): string;
  stderr(): string;
  /** Settles when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** tsx's loader by absolute URL, so a child started in another directory (`opts.cwd`) finds it. */
const TSX_LOADER = pathToFileURL(join(REPO_ROOT, "node_modules", "tsx", "dist", "loader.mjs")).href;

/** The environment a child process inherits: PATH and HOME only, so no stray LETHE_* leaks in. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of ["PATH", "HOME", "TMPDIR"]) if (process.env[k] !== undefined) env[k] = process.env[k]!;
  return env;
}

/**
 * Spawns `node --import tsx <file> ...args` from the repository root (or `opts.cwd`; `file` is
 * relative to the repository) with exactly `env` (plus PATH/HOME). The leak guard fails the test file if it is still running when the file ends.
 */
export function spawnTs(file: string, args: string[], env: Record<string, string>, opts: { cwd?: string } = {}): TsChild {
  const proc = spawn(process.execPath, ["--import", TSX_LOADER, resolve(REPO_ROOT, file), ...args], {
    cwd: opts.cwd ?? REPO_ROOT,
    env: { ...baseEnv(), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  let closed = false;
  trackHandle("child process", `${file} ${args.join(" ")} (pid ${proc.pid})`, () => !closed);
  proc.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
  proc.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    proc.once("close", (code, signal) => {
      closed = true;
      res({ code, signal });
    }),
  );
  return { proc, stdout: () => out, stderr: () => err, exited };
}

/** Runs a TypeScript entrypoint to its end; kills it after `timeoutMs`. */
export async function runTs(
  file: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
  opts: { cwd?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnTs(file, args, env, opts);
  const timer = setTimeout(() => child.proc.kill("SIGKILL"), timeoutMs);
  const { code } = await child.exited;
  clearTimeout(timer);
  return { code, stdout: child.stdout(), stderr: child.stderr() };
}

/** SIGKILLs a child unless it has already exited, and waits until it has. */
export async function stopChild(child: TsChild): Promise<void> {
  if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill("SIGKILL");
  await child.exited;
}
