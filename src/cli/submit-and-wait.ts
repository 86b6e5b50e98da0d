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

/**
 * What `lethe request <type>` does: records the request through the same service as the API
 * (row first, then the job), optionally waits for it, prints its view as JSON, and sets the exit
 * code to 1 when a waited-for request did not complete.
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
    if (wait.wait && view?.status !== "completed") process.exitCode = 1;
  } finally {
    await services?.close();
    await ds.destroy();
  }
}
