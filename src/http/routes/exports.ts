import { open } from "node:fs/promises";
import type { FastifyPluginAsync } from "fastify";
import { claimDownload, downloadState } from "../../db/tables/export";
import { exportFilePath } from "../../exports/files";
import { verifyExportToken } from "../../exports/link-token";
import type { FastifyReply, FastifyRequest } from "fastify";
import { htmlPage } from "../../breach/html-page";
import { escapeHtml } from "../../html-escape";
import { HttpProblem, notFound } from "../problem";

/** Problem types of the download link (RFC 9457 `type`). */
export const EXPORT_PROBLEM_TYPES = {
  linkInvalid: "urn:lethe:problem:export-link-invalid",
  linkGone: "urn:lethe:problem:export-link-gone",
} as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function invalidLink(): HttpProblem {
  return new HttpProblem({
    type: EXPORT_PROBLEM_TYPES.linkInvalid,
    title: "Invalid download link",
    status: 403,
    detail: "this download link is not valid; open the link from the email exactly as it was sent",
  });
}

function goneLink(detail: string): HttpProblem {
  return new HttpProblem({ type: EXPORT_PROBLEM_TYPES.linkGone, title: "Download link no longer valid", status: 410, detail });
}

/** True when the caller is a person's browser (it asks for HTML), not an API client. */
export function wantsHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? "";
  return accept.includes("text/html") && !/^application\/(problem\+)?json/.test(accept);
}

/** A bad or expired link as a small page a person can read (same status; no scripts, nothing loaded). */
function sendLinkPage(reply: FastifyReply, problem: HttpProblem): FastifyReply {
  const body = `<h1>${escapeHtml(problem.problem.title)}</h1>\n<p>${escapeHtml(problem.problem.detail)}</p>`;
  return reply
    .code(problem.problem.status)
    .headers({ "content-type": "text/html; charset=utf-8", "cache-control": "no-store", "referrer-policy": "no-referrer" })
    .send(htmlPage("en", problem.problem.title, body));
}

/**
 * `GET /v1/exports/:id/download?token=…`: the subject's download. No API key: the signed token
 * is the credential (HMAC over id and expiry, compared in constant time). 403 when it was
 * altered, 410 once it expired, the file was deleted, or a single-use link was used. The zip is
 * streamed from disk as an attachment; each download is counted and audited. No HEAD route (it
 * would use up a single-use link). A browser gets a bad or expired link as a small HTML page, an
 * API client as problem+json. Register with `{ prefix: "/v1" }`.
 */
export const exportRoutes: FastifyPluginAsync = async (app) => {
  const { ds, config } = app.services;
  app.get<{ Params: { id: string }; Querystring: { token?: unknown } }>(
    "/exports/:id/download",
    { exposeHeadRoute: false, config: { ownIdCheck: true } },
    async (request, reply) => {
      try {
        return await download(request, reply);
      } catch (err) {
        if (err instanceof HttpProblem && wantsHtml(request)) return sendLinkPage(reply, err);
        throw err;
      }
    },
  );

  async function download(request: FastifyRequest<{ Params: { id: string }; Querystring: { token?: unknown } }>, reply: FastifyReply): Promise<FastifyReply> {
    const { id } = request.params;
    if (!UUID.test(id)) throw notFound("no export has this id");
    const token = request.query.token;
    if (typeof token !== "string") throw invalidLink();
    const check = verifyExportToken(config.hmacKey, id, token);
    if (!check.ok)
      throw check.reason === "expired" ? goneLink("this download link has expired and the file was deleted; ask for a new copy of your data") : invalidLink();

    const got = await claimDownload(ds, id);
    if (!got) {
      const row = await downloadState(ds, id);
      if (row?.single_use && row.downloads > 0 && !row.deleted_at)
        throw goneLink("this download link could be used once and has been used; ask for a new copy of your data");
      throw goneLink("this download link has expired and the file was deleted; ask for a new copy of your data");
    }

    let handle;
    try {
      handle = await open(exportFilePath(config.exportDir, got.path), "r");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") throw goneLink("the file of this download link was deleted; ask for a new copy of your data");
      throw err;
    }
    const { size } = await handle.stat();
    const day = new Date().toISOString().slice(0, 10);
    return reply
      .code(200)
      .headers({
        "content-type": "application/zip",
        "content-length": String(size),
        "content-disposition": `attachment; filename="personal-data-${day}.zip"`,
        "cache-control": "no-store",
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
      })
      .send(handle.createReadStream());
  }
};
