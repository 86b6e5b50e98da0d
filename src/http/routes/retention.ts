import { Queue } from "bullmq";
import type { FastifyPluginAsync } from "fastify";
import type { Redis } from "ioredis";
import type { DataSource } from "typeorm";
import { z } from "zod";
import type { Config } from "../../config";
import type { DataMap } from "../../datamap/schema";
import type { Logger } from "../../logger";
import { QUEUES } from "../../queues/names";
import { getRunView, RunInProgressError, triggerRun, UnknownPolicyError } from "../../retention/runs";
import { requireScope } from "../auth";
import { HttpProblem, notFound } from "../problem";
import { parseOrProblem } from "../validation";

/** Problem type of a trigger refused because a run of the policy is queued or running. */
export const RUN_IN_PROGRESS_PROBLEM = "urn:lethe:problem:run-in-progress";

/** Body of `POST /v1/retention/:policy/runs`. Strict; an empty body means a real run. */
export const RUN_BODY_SCHEMA = z
  .object({ dryRun: z.boolean({ error: "must be true or false" }).optional() }, { error: 'send a JSON object such as {"dryRun": true}' })
  .strict();

/** What the retention routes need. */
export interface RetentionRoutesOptions {
  ds: DataSource;
  config: Config;
  dataMap: DataMap;
  /** The producer connection; the routes' retention queue uses it (closed with the app, the connection is not). */
  redis: Redis;
  logger: Logger;
  /** Use this queue instead of making one on `redis`. */
  queue?: Queue;
}

/**
 * `POST /v1/retention/:policy/runs` (scope `requests.write`): starts a run of a policy now — 404
 * for an unknown policy, 409 while a run of it is queued or running. `GET /v1/retention/runs/:id`
 * (`requests.read`): the run's status and counts. Register with `{ prefix: "/v1" }`.
 */
export const retentionRoutes: FastifyPluginAsync<RetentionRoutesOptions> = async (app, opts) => {
  const keys = opts.config.apiKeys;
  const queue = opts.queue ?? new Queue(QUEUES.retention, { connection: opts.redis, prefix: opts.config.queuePrefix });
  if (!opts.queue) {
    queue.on("error", (err: Error) => opts.logger.warn({ err, queue: queue.name }, "queue error"));
    app.addHook("onClose", async () => {
      await queue.close();
    });
  }

  app.post<{ Params: { policy: string } }>("/retention/:policy/runs", { onRequest: requireScope(keys, "requests.write") }, async (request, reply) => {
    const body = parseOrProblem(RUN_BODY_SCHEMA, request.body ?? {});
    try {
      const run = await triggerRun(
        {
          ds: opts.ds,
          config: opts.config,
          dataMap: opts.dataMap,
          queue,
          onEnqueueError: (err) => opts.logger.warn({ err }, "enqueue failed; the reconciler will enqueue the run"),
        },
        request.params.policy,
        { dryRun: body.dryRun ?? false, requestedBy: request.apiKeyName ?? "unknown" },
      );
      reply.code(202).header("location", `/v1/retention/runs/${run.id}`);
      return run;
    } catch (err) {
      if (err instanceof UnknownPolicyError) throw notFound(`the data map has no retention policy named "${err.policy}"`);
      if (err instanceof RunInProgressError) {
        throw new HttpProblem({
          type: RUN_IN_PROGRESS_PROBLEM,
          title: "Run in progress",
          status: 409,
          detail: `${err.message}; wait for it to finish (GET /v1/retention/runs/<id>)`,
          activeRunId: err.activeRunId,
        });
      }
      throw err;
    }
  });

  app.get<{ Params: { id: string } }>("/retention/runs/:id", { onRequest: requireScope(keys, "requests.read") }, async (request) => {
    const view = await getRunView(opts.ds, request.params.id);
    if (!view) throw notFound("no retention run has this id");
    return view;
  });
};
