import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from "fastify";
import type { ApiKey, ApiScope } from "../config";
import { safeEqual } from "../crypto";
import { PROBLEM_TYPES, sendProblem } from "./problem";

declare module "fastify" {
  interface FastifyRequest {
    /** Name of the API key that authenticated the request (`requestedBy`); null before auth. */
    apiKeyName: string | null;
  }
}

/** Realm sent in `WWW-Authenticate` challenges. */
export const AUTH_REALM = "lethe";

/** How a route accepts credentials: Bearer only, or also HTTP Basic (password = key) for browsers. */
export interface AuthOptions {
  /** Accept `Authorization: Basic` and challenge with Basic, so a browser shows a login box. (Default: false) */
  basic?: boolean;
}

/** Finds the key whose secret equals `secret`; compares against every key in constant time. */
export function findApiKey(keys: readonly ApiKey[], secret: string): ApiKey | null {
  let found: ApiKey | null = null;
  for (const key of keys) {
    if (safeEqual(key.key, secret) && found === null) found = key;
  }
  return found;
}

/** True when `key` carries `scope` (or one of several); `admin` implies every scope. */
export function hasScope(key: ApiKey, scope: ApiScope | readonly ApiScope[]): boolean {
  const wanted: readonly ApiScope[] = typeof scope === "string" ? [scope] : scope;
  return key.scopes.has("admin") || wanted.some((s) => key.scopes.has(s));
}

/** The secret an `Authorization` header presents, or null when there is none in a form we accept. */
export function presentedSecret(header: string | undefined, options: AuthOptions = {}): string | null {
  if (!header) return null;
  const match = /^([A-Za-z]+) +(\S+) *$/.exec(header);
  if (!match) return null;
  const scheme = match[1]!.toLowerCase();
  const credentials = match[2]!;
  if (scheme === "bearer") return credentials;
  if (scheme === "basic" && options.basic) {
    const decoded = Buffer.from(credentials, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    return colon === -1 ? null : decoded.slice(colon + 1);
  }
  return null;
}

/** Adds `request.apiKeyName` to every request. Call once on the root instance. */
export function installAuth(app: FastifyInstance): void {
  app.decorateRequest("apiKeyName", null);
}

function challenge(options: AuthOptions, invalid: boolean): string {
  if (options.basic) return `Basic realm="${AUTH_REALM}"`;
  return invalid ? `Bearer realm="${AUTH_REALM}", error="invalid_token"` : `Bearer realm="${AUTH_REALM}"`;
}

/**
 * An `onRequest` hook admitting only keys with `scope` (or any of several scopes): 401 (with a `WWW-Authenticate`
 * challenge) for a missing or unknown key, 403 for a key without the scope. It runs before the
 * body is read, so an unauthenticated caller learns nothing about body rules.
 */
export function requireScope(keys: readonly ApiKey[], scope: ApiScope | readonly ApiScope[], options: AuthOptions = {}): onRequestAsyncHookHandler {
  return async function checkScope(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const secret = presentedSecret(request.headers.authorization, options);
    const key = secret === null ? null : findApiKey(keys, secret);
    if (!key) {
      const how = options.basic ? "an admin API key as Bearer token or as the Basic password" : "an API key as `Authorization: Bearer <key>`";
      return sendProblem(
        request,
        reply,
        {
          type: PROBLEM_TYPES.unauthorized,
          title: "Unauthorized",
          status: 401,
          detail: secret === null ? `send ${how}` : "the API key is not valid",
        },
        { "www-authenticate": challenge(options, secret !== null) },
      );
    }
    if (!hasScope(key, scope)) {
      return sendProblem(request, reply, {
        type: PROBLEM_TYPES.forbidden,
        title: "Forbidden",
        status: 403,
        detail: `the API key "${key.name}" lacks the scope ${typeof scope === "string" ? `"${scope}"` : scope.map((x) => `"${x}"`).join(" or ")}`,
      });
    }
    request.apiKeyName = key.name;
    return undefined;
  };
}
