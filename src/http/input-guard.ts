import type { Socket } from "node:net";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from "fastify";
import { invalidRequest, notFound, PROBLEM_CONTENT_TYPE, PROBLEM_TYPES, sendProblem } from "./problem";

declare module "fastify" {
  interface FastifyContextConfig {
    /**
     * The route validates these `:id`-like parameters itself (`true`: all of them), e.g. an incident
     * named by id or by reference, so the root UUID rule leaves them alone.
     */
    ownIdCheck?: boolean | readonly string[];
  }
}

/** A canonical UUID (any version), the form of every id Lethe hands out. */
export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Route parameters that carry one of Lethe's ids: `:id` and `:somethingId`. */
const ID_PARAM = /^(id|[a-z][A-Za-z0-9]*Id)$/;

/** One route of the API as registered: what the fuzz test and the docs enumerate. */
export interface RouteEntry {
  method: string;
  url: string;
  /** The `:id`-like parameters the root UUID rule checks (empty when the route checks its own). */
  idParams: string[];
}

/** Longest nesting the text check follows into a body; deeper bodies are refused. */
const MAX_DEPTH = 64;

/** An unpaired UTF-16 surrogate (JSON can carry one as `\ud800`; it is not text). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Text Postgres cannot store and no person writes: NUL and unpaired UTF-16 surrogates. */
function badText(s: string): string | null {
  if (s.includes("\u0000")) return "must not contain NUL characters";
  if (LONE_SURROGATE.test(s)) return "must be valid Unicode text";
  return null;
}

/** The first string (value or key) in `value` that {@link badText} refuses, with its dotted path. */
export function findBadText(value: unknown, at: string, depth = 0): { field: string; message: string } | null {
  if (typeof value === "string") {
    const message = badText(value);
    return message ? { field: at, message } : null;
  }
  if (value === null || typeof value !== "object") return null;
  if (depth > MAX_DEPTH) return { field: at, message: `must not nest deeper than ${MAX_DEPTH} levels` };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findBadText(value[i], `${at}.${i}`, depth + 1);
      if (found) return found;
    }
    return null;
  }
  for (const key of Object.keys(value)) {
    const keyProblem = badText(key);
    // A bad key is named by its position, never echoed.
    if (keyProblem) return { field: `${at}.(key)`, message: `field names ${keyProblem.slice(5)}` };
    const found = findBadText((value as Record<string, unknown>)[key], `${at}.${key}`, depth + 1);
    if (found) return found;
  }
  return null;
}

/** Strips the leading `body.` a path of {@link findBadText} starts with, as the other 400s name fields. */
const fieldName = (path: string): string => (path.startsWith("body.") ? path.slice(5) : path);

/**
 * Root `preValidation`: NUL or invalid Unicode anywhere in the body, query or path → 400 naming
 * the field. Sent, not thrown, so a plugin with its own error handler (the dashboard) cannot turn it into a 500.
 */
async function refuseBadText(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
  const found =
    findBadText(request.params, "path") ?? findBadText(request.query, "query") ?? (request.body === undefined ? null : findBadText(request.body, "body"));
  if (!found) return undefined;
  return sendProblem(request, reply, invalidRequest([{ field: fieldName(found.field), message: found.message }]).problem);
}

/** The route's `:id`-like parameters, unless it checks them itself. */
function idParamsOf(route: RouteOptions): string[] {
  const own = route.config?.ownIdCheck;
  if (own === true) return [];
  const names = [...route.url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
  return names.filter((n) => ID_PARAM.test(n) && !(Array.isArray(own) && own.includes(n)));
}

/**
 * Installs, on the root instance and before any route is registered: the table of routes
 * (`app.routeTable`), the UUID rule (an `:id`/`:xxxId` parameter that is not a UUID is a 404 before
 * any handler or database sees it, unless the route sets `config.ownIdCheck`), and the text rule
 * (NUL or invalid Unicode in the body, query or path is a 400 naming the field). Routes under
 * `ownIdPrefixes` (a mounted tool such as the dashboard) are listed but keep their own id rules.
 */
export function installInputGuard(app: FastifyInstance, options: { ownIdPrefixes?: readonly string[] } = {}): void {
  const table: RouteEntry[] = [];
  app.decorate("routeTable", table);
  app.addHook("onRoute", (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    // Routes of a mounted tool (the dashboard's job ids are not UUIDs) check their own ids.
    const idParams = options.ownIdPrefixes?.some((p) => route.url.startsWith(p)) ? [] : idParamsOf(route);
    for (const method of methods) if (method !== "HEAD") table.push({ method, url: route.url, idParams });
    if (idParams.length === 0) return;
    const checkIds = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
      const params = request.params as Record<string, unknown>;
      for (const name of idParams) {
        const v = params[name];
        if (typeof v !== "string" || !UUID_RE.test(v)) return sendProblem(request, reply, notFound(`no such ${name}: ids are UUIDs`).problem);
      }
      return undefined;
    };
    const existing = route.preValidation;
    route.preValidation = existing === undefined ? [checkIds] : [checkIds, ...(Array.isArray(existing) ? existing : [existing])];
  });
  app.addHook("preValidation", refuseBadText);
}

declare module "fastify" {
  interface FastifyInstance {
    /** Every route registered on the API, in order (see {@link installInputGuard}). */
    routeTable: RouteEntry[];
  }
}

/** Fastify's errors raised before routing (a URL that does not decode, a too-long parameter) as problem+json. */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const tooLong = err.code === "FST_ERR_MAX_PARAM_LENGTH";
  void sendProblem(request, reply, {
    type: PROBLEM_TYPES.invalidRequest,
    title: tooLong ? "URI too long" : "Invalid request",
    status: tooLong ? 414 : 400,
    detail: tooLong ? "a path segment is longer than any id Lethe uses" : "the URL is not valid (a percent-encoding does not decode)",
  });
}

/**
 * Errors Node's HTTP parser raises before Fastify sees a request (headers too large → 431, a
 * malformed request line or header → 400, a request timeout → 408), answered as problem+json.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  const [status, title, detail] =
    err.code === "HPE_HEADER_OVERFLOW"
      ? [431, "Request header fields too large", "the request's headers (or its URL) are too large"]
      : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? [408, "Request timeout", "the request was not received in time"]
        : [400, "Bad request", "the request is not valid HTTP (request line or headers)"];
  const body = JSON.stringify({ type: PROBLEM_TYPES.invalidRequest, title, status, detail, instance: "/" });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${title}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
