import type { Queue } from "bullmq";
import type { Queues, Services } from "../services";

/**
 * What the HTTP API uses of the process's services, decorated once on the root instance as
 * `app.services` (see {@link buildServer}). The erasure and maintenance queues are always there;
 * without the export queue export requests wait for the reconciler, and without the retention
 * queue the retention routes make their own on `redis`.
 */
export type HttpServices = Pick<Services, "ds" | "config" | "dataMap" | "redis" | "logger" | "mapFingerprint"> & {
  queues: Pick<Queues, "erasure" | "maintenance"> & Partial<Queues>;
} & Partial<Pick<Services, "pools" | "stores">>;

declare module "fastify" {
  interface FastifyInstance {
    /** The API process's services (`src/http/services.ts`). */
    services: HttpServices;
  }
}

/** The queues the dashboard and `/metrics` show: every queue Lethe runs that the process has (retention and rights included). */
export function shownQueues(queues: HttpServices["queues"]): Queue[] {
  return [
    queues.erasure,
    queues.maintenance,
    ...(queues.export ? [queues.export] : []),
    ...(queues.mail ? [queues.mail] : []),
    ...(queues.breach ? [queues.breach] : []),
    ...(queues.retention ? [queues.retention] : []),
    ...(queues.rights ? [queues.rights] : []),
  ];
}
