import { Queue } from "bullmq";
import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
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

/**
 * `POST /v1/retention/:policy/runs` (scope `requests.write`): starts a run of a policy now — 404
 * for an unknown policy, 409 while a run of it is queued or running. `GET /v1/retention/runs/:id`
 * (`requests.read`): the run's status and counts. Register with `{ prefix: "/v1" }`.
 */
export const retentionRoutes: FastifyPluginAsync = async (app) => {
  const { ds, config, dataMap, redis, logger, queues } = app.services;
  const keys = config.apiKeys;
  // Without a retention queue among the services, one on the producer connection (closed with the app, the connection is not).
  const queue = queues.retention ?? new Queue(QUEUES.retention, { connection: redis, prefix: config.queuePrefix });
  if (!queues.retention) {
    queue.on("error", (err: Error) => logger.warn({ err, queue: queue.name }, "queue error"));
    app.addHook("onClose", async () => {
      await queue.close();
    });
  }

  app.post<{ Params: { policy: string } }>("/retention/:policy/runs", { onRequest: requireScope(keys, "requests.write") }, async (request, reply) => {
    const body = parseOrProblem(RUN_BODY_SCHEMA, request.body ?? {});
    try {
      const run = await triggerRun(
        {
          ds,
          config,
          dataMap,
          queue,
          onEnqueueError: (err) => logger.warn({ err }, "enqueue failed; the reconciler will enqueue the run"),
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
    const view = await getRunView(ds, request.params.id);
    if (!view) throw notFound("no retention run has this id");
    return view;
  });
};
