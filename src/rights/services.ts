import type { Queues, Services } from "../services";

/**
 * What the rights use of the process's services: Lethe's database, the config and data map, the
 * stores (their rights sides), a logger, the rights and mail queues (events, store jobs,
 * notices), and the maintenance queue where there is one (the application's callback).
 */
export type RightsServices = Pick<Services, "ds" | "config" | "dataMap" | "stores" | "logger" | "mapFingerprint"> & {
  queues: Pick<Queues, "rights" | "mail"> & Partial<Pick<Queues, "maintenance">>;
};
