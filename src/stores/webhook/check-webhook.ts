import type { DataMap } from "../../datamap/schema";
import type { WebhookStoreSpec } from "./schema";

/** `lethe check` rules of webhook stores; `datamap/check` lists them among its rules. */
export const WEBHOOK_CHECK_RULES = ["secret-missing", "secret-too-short", "url-invalid", "unknown-identity"] as const;
/** One of {@link WEBHOOK_CHECK_RULES}. */
export type WebhookCheckRule = (typeof WEBHOOK_CHECK_RULES)[number];

/** Shortest signing secret accepted, in characters (after `${VAR}` interpolation). */
export const MIN_SECRET_LENGTH = 16;

/** Hosts plain http is allowed for: the machine itself (a sidecar processor, tests). */
export const LOCAL_HOSTS: ReadonlySet<string> = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Why `url` cannot be called (never echoes the URL: it may carry a token), or null when it can. */
export function webhookUrlProblem(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "is not an absolute URL";
  }
  if (parsed.protocol === "https:") return null;
  if (parsed.protocol === "http:") return LOCAL_HOSTS.has(parsed.hostname) ? null : "must use https (plain http is allowed for localhost and 127.0.0.1 only)";
  return `must be an http(s) URL, not ${parsed.protocol.replace(/:$/, "")}`;
}

/** Why `secret` cannot sign calls, as a rule and message (never echoes the secret), or null. */
export function webhookSecretProblem(secret: string): { rule: WebhookCheckRule; message: string } | null {
  if (secret.trim() === "") return { rule: "secret-missing", message: 'the signing secret is empty; set it, e.g. "secret": "${CRM_WEBHOOK_SECRET}"' };
  if (secret.length < MIN_SECRET_LENGTH) {
    return {
      rule: "secret-too-short",
      message: `the signing secret has ${secret.length} characters; use at least ${MIN_SECRET_LENGTH} (e.g. openssl rand -hex 32)`,
    };
  }
  return null;
}

/** Checks one webhook store's declaration (pure; no I/O: processors are not called by `lethe check`). */
export function checkWebhookStore(map: DataMap, name: string, store: WebhookStoreSpec): Array<{ key: string; rule: WebhookCheckRule; message: string }> {
  const at = `stores.${name}`;
  const problems: Array<{ key: string; rule: WebhookCheckRule; message: string }> = [];
  const secret = webhookSecretProblem(store.secret);
  if (secret) problems.push({ key: `${at}.secret`, ...secret });
  const url = webhookUrlProblem(store.url);
  if (url) problems.push({ key: `${at}.url`, rule: "url-invalid", message: `the processor URL ${url}` });
  const known = new Set(["id", ...Object.keys(map.subject.identities)]);
  store.identities.forEach((identity, i) => {
    if (!known.has(identity)) {
      problems.push({
        key: `${at}.identities.${i}`,
        rule: "unknown-identity",
        message: `identity "${identity}" is neither "id" nor one of subject.identities (${[...known].join(", ")})`,
      });
    }
  });
  return problems;
}
