import type { FastifyReply, FastifyRequest } from "fastify";
import type { ApiKey, ApiScope } from "../../config";
import { hmacHex, safeEqual } from "../../crypto";
import { findApiKey, hasScope, presentedSecret } from "../auth";

/**
 * The console's login: a person pastes an API key once; the console answers with a session
 * cookie naming the key (never holding it) and signed with the HMAC key and the key's own secret,
 * so a rotated or removed key ends its sessions. Forms carry a CSRF token derived from the cookie.
 * A client may also send the key as `Authorization: Bearer` on every request instead.
 */

/** Name of the session cookie. */
export const SESSION_COOKIE = "lethe_console";
/** How long a console session lasts. (Default: 8 hours) */
export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;

/** Who is looking at the console: the key, and how it was presented. */
export interface ConsoleUser {
  key: ApiKey;
  /** The raw cookie value when the key came from a session (forms then need the CSRF token). */
  session: string | null;
}

function mac(hmacKey: Buffer, payload: string, key: ApiKey): string {
  return hmacHex(hmacKey, `console-session|${payload}|${key.key}`);
}

/** A signed session value for `key`, valid until `now + SESSION_TTL_MS`. */
export function makeSession(hmacKey: Buffer, key: ApiKey, now: Date): string {
  const payload = Buffer.from(JSON.stringify({ k: key.name, e: now.getTime() + SESSION_TTL_MS }), "utf8").toString("base64url");
  return `${payload}.${mac(hmacKey, payload, key)}`;
}

/** The key a session value names, when its signature holds and it has not expired. */
export function readSession(hmacKey: Buffer, keys: readonly ApiKey[], value: string, now: Date): ApiKey | null {
  const dot = value.indexOf(".");
  if (dot <= 0) return null;
  const payload = value.slice(0, dot);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  } catch {
    return null;
  }
  if (typeof parsed !== "object" || parsed === null) return null;
  const { k, e } = parsed as { k?: unknown; e?: unknown };
  if (typeof k !== "string" || typeof e !== "number" || e <= now.getTime()) return null;
  const key = keys.find((x) => x.name === k);
  if (!key || !safeEqual(mac(hmacKey, payload, key), value.slice(dot + 1))) return null;
  return key;
}

/** The value of cookie `name` in a `Cookie` header. */
export function cookieOf(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** Who the request comes from: a valid session cookie, else a Bearer key; null when neither. */
export function consoleUserOf(request: FastifyRequest, hmacKey: Buffer, keys: readonly ApiKey[], now: Date): ConsoleUser | null {
  const cookie = cookieOf(request.headers.cookie, SESSION_COOKIE);
  if (cookie) {
    const key = readSession(hmacKey, keys, cookie, now);
    if (key) return { key, session: cookie };
  }
  const secret = presentedSecret(request.headers.authorization);
  const key = secret === null ? null : findApiKey(keys, secret);
  return key ? { key, session: null } : null;
}

/** The CSRF token of a session (the forms' hidden `csrf` field). */
export function csrfToken(hmacKey: Buffer, session: string): string {
  return hmacHex(hmacKey, `console-csrf|${session}`);
}

/** True when a form may act for `user`: a Bearer caller needs no token; a session must send its own. */
export function csrfHolds(hmacKey: Buffer, user: ConsoleUser, sent: string | undefined): boolean {
  if (user.session === null) return true;
  return typeof sent === "string" && safeEqual(csrfToken(hmacKey, user.session), sent);
}

/** Sets (or, with null, clears) the session cookie: HttpOnly, SameSite=Strict, path `/admin`. */
export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, value: string | null): void {
  const secure = request.protocol === "https" ? "; Secure" : "";
  const life = value === null ? "; Max-Age=0" : `; Max-Age=${Math.floor(SESSION_TTL_MS / 1000)}`;
  reply.header("set-cookie", `${SESSION_COOKIE}=${value ?? ""}; Path=/admin; HttpOnly; SameSite=Strict${life}${secure}`);
}

/** True when the user's key carries `scope` (admin carries all). */
export function userCan(user: ConsoleUser, scope: ApiScope): boolean {
  return hasScope(user.key, scope);
}
