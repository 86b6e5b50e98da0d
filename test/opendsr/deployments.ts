import type { FastifyInstance } from "fastify";
import { Queue } from "bullmq";
import { seedMarkedCustomer, seedShop } from "../../demo/seed";
import { buildServer } from "../../src/http/server";
import { QUEUES } from "../../src/queues/names";
import { StorePools } from "../../src/stores/postgres/pools";
import { StoreSet } from "../../src/stores/store-set";
import { freePort } from "../../support/free-port";
import { SHOP_MAP } from "../helpers/data-maps";
import { createHarness, type LetheHarness } from "../helpers/harness";
import { startSmtpCatcher, type SmtpCatcher } from "../helpers/smtp";
import { createTestCa, type IssuedCert, type TestCa } from "../helpers/test-ca";

/**
 * Two Lethe deployments in one test, each with its own databases, queues and API on a real port:
 * the **processor** (speaks OpenDSR under /opendsr/v2, signs with a certificate of a test CA for
 * {@link PROCESSOR_DOMAIN}) and optionally the **controller** (an `opendsr` store pointing at the
 * processor, trusting the test CA). Both run the demo shop; `markers` are seeded into both.
 */

/** The domain the processor's certificate is issued for. */
export const PROCESSOR_DOMAIN = "processor.lethe.test";
/** The API key other controllers use at the processor (scope `opendsr`). */
export const CONTROLLER_KEY = "opendsr-controller-key-000001";
/** A second controller's key (its requests are invisible to the first). */
export const OTHER_CONTROLLER_KEY = "opendsr-controller-key-000002";
/** A key without the `opendsr` scope. */
export const APP_KEY = "opendsr-app-key-0000000000003";

/** One running deployment. */
export interface Deployment {
  h: LetheHarness;
  api: FastifyInstance;
  base: string;
  close(): Promise<void>;
}

async function deploy(
  env: Record<string, string>,
  port: number,
  markers: string[],
  ids: Map<string, number>,
  queues: Array<keyof typeof QUEUES>,
  editMap?: (raw: Record<string, unknown>) => void,
): Promise<Deployment> {
  const h = await createHarness({
    map: SHOP_MAP,
    env: { LETHE_PUBLIC_URL: `http://127.0.0.1:${port}`, LETHE_OPENDSR_SYNC_EVERY_MS: "200", ...env },
    prepare: async (url) => {
      await seedShop(url, { customers: 5 });
      for (const m of markers) ids.set(m, await seedMarkedCustomer(url, m));
    },
    ...(editMap ? { editMap: editMap as never } : {}),
  });
  const exportQueue = new Queue(QUEUES.export, { connection: h.redis, prefix: h.config.queuePrefix });
  const pools = new StorePools(h.dataMap);
  const stores = new StoreSet({ dataMap: h.dataMap, config: h.config, pools, logger: h.logger, ds: h.ds });
  const api = await buildServer({
    ds: h.ds,
    config: h.config,
    dataMap: h.dataMap,
    queues: { erasure: h.erasureQueue, maintenance: h.maintenanceQueue, export: exportQueue },
    redis: h.redis,
    logger: h.logger,
    pools,
    stores,
  });
  await api.listen({ host: "127.0.0.1", port });
  await h.startWorker({ queues });
  return {
    h,
    api,
    base: `http://127.0.0.1:${port}`,
    async close() {
      await api.close();
      await exportQueue.close();
      await stores.close();
      await pools.close();
      await h.cleanup();
    },
  };
}

/** The processor deployment and what it was made with. */
export interface ProcessorSide extends Deployment {
  ca: TestCa;
  cert: IssuedCert;
  smtp: SmtpCatcher;
  /** Customer ids of the seeded markers. */
  ids: Map<string, number>;
}

/** Starts the processor: OpenDSR configured, workers on erasure, maintenance, export and mail, mail to a catcher. */
export async function startProcessorSide(markers: string[]): Promise<ProcessorSide> {
  const ca = createTestCa();
  const cert = ca.issue(PROCESSOR_DOMAIN);
  const smtp = await startSmtpCatcher();
  const ids = new Map<string, number>();
  const port = await freePort();
  const d = await deploy(
    {
      LETHE_API_KEYS: `ctl:${CONTROLLER_KEY}:opendsr;other:${OTHER_CONTROLLER_KEY}:opendsr;app:${APP_KEY}:requests.write|requests.read`,
      LETHE_OPENDSR_KEY_FILE: cert.keyFile,
      LETHE_OPENDSR_CERT_FILE: cert.certFile,
      LETHE_OPENDSR_DOMAIN: PROCESSOR_DOMAIN,
      SMTP_URL: smtp.url,
    },
    port,
    markers,
    ids,
    ["erasure", "maintenance", "export", "mail"],
  );
  return {
    ...d,
    ca,
    cert,
    smtp,
    ids,
    async close() {
      await d.close();
      await smtp.close();
      ca.cleanup();
    },
  };
}

/** The controller deployment: its `proc` store is the processor, over OpenDSR. */
export async function startControllerSide(
  processor: ProcessorSide,
  markers: string[],
  ids: Map<string, number>,
  store: Record<string, unknown> = {},
): Promise<Deployment> {
  const port = await freePort();
  return deploy({}, port, markers, ids, ["erasure", "maintenance"], (raw) => {
    (raw.stores as Record<string, unknown>).proc = {
      kind: "opendsr",
      url: `${processor.base}/opendsr/v2`,
      apiKey: CONTROLLER_KEY,
      domain: PROCESSOR_DOMAIN,
      identities: [{ identity: "email", type: "email", format: "raw" }],
      tls: { caFile: `${processor.ca.dir}/ca.pem` },
      pollIntervalMs: 60_000,
      timeoutMs: 5000,
      ...store,
    };
  });
}
