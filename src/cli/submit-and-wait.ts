import { initializeAtStart } from "../db/connect-at-start";
import type { DataSource } from "typeorm";
import { mapFingerprint } from "../datamap/fingerprint";
import { loadDataMap } from "../datamap/load";
import { assertMigrated, createDataSource } from "../db/data-source";
import { createLogger } from "../logger";
import { getRequestView, submitRequest, type SubmitInput } from "../requests/service";
import type { RequestView } from "../requests/view";
import { openServices, type OpenServices } from "../services";
import { configOrExit } from "./config-or-exit";

/** Statuses after which a request changes no more. */
const FINAL = new Set(["completed", "failed", "refused"]);

/** Polls a request until it is completed or failed, or `timeoutMs` passed; returns its last view. */
export async function waitForFinal(ds: DataSource, id: string, timeoutMs: number): Promise<RequestView | null> {
  const deadline = Date.now() + timeoutMs;
  let view = await getRequestView(ds, id);
  while (view && !FINAL.has(view.status) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    view = await getRequestView(ds, id);
  }
  return view;
}

/** Exit code of `lethe request … --wait` when the subject was not found (nothing erased or exported). */
export const EXIT_SUBJECT_NOT_FOUND = 3;

/**
 * The exit code of a waited-for request: 0 done (or previewed), 1 not completed (failed, refused,
 * timed out), {@link EXIT_SUBJECT_NOT_FOUND} completed without a subject.
 */
export function waitExitCode(view: RequestView | null): number {
  if (view?.status !== "completed") return 1;
  return view.outcome === "subject_not_found" ? EXIT_SUBJECT_NOT_FOUND : 0;
}

/**
 * What `lethe request <type>` does: records the request through the same service as the API
 * (row first, then the job), optionally waits for it, prints its view as JSON, and sets the exit
 * code of a waited-for request by {@link waitExitCode} (3: subject not found).
 */
export async function submitFromCli(input: Omit<SubmitInput, "requestedBy">, wait: { wait: boolean; timeoutSec: number }): Promise<void> {
  const config = configOrExit();
  const ds = createDataSource(config.databaseUrl, { poolSize: 2 });
  await initializeAtStart(ds, config.databaseUrl, config.startTimeoutMs);
  let services: OpenServices | undefined;
  try {
    await assertMigrated(ds);
    const dataMap = loadDataMap(config.dataMapPath);
    const fingerprint = await mapFingerprint(dataMap);
    services = openServices(config, { ds, dataMap, logger: createLogger(config.logLevel), mapFingerprint: fingerprint }, { role: "worker", storePoolSize: 2 });
    const { request } = await submitRequest(services, { ...input, requestedBy: "cli" });
    const view = wait.wait ? await waitForFinal(ds, request.id, wait.timeoutSec * 1000) : await getRequestView(ds, request.id);
    process.stdout.write(`${JSON.stringify(view, null, 2)}\n`);
    if (wait.wait) process.exitCode = waitExitCode(view);
  } finally {
    await services?.close();
    await ds.destroy();
  }
}
