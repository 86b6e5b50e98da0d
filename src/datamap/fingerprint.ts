import { createHash } from "node:crypto";
import { ERROR_CODES, PermanentError } from "../errors";
import { kindOf } from "../stores/registry";
import type { CheckOptions } from "../stores/store-kind";
import type { Logger } from "../logger";
import type { DataMap } from "./schema";

/**
 * One map per deployment: the data map's fingerprint is a sha256 over the map's canonical JSON
 * (every `${VAR}` field — URLs and secrets — left out), plus what each store's kind says of the
 * live store (a database: its system identifier and name, and the mapped schema's shape). Every
 * request records the fingerprint it was submitted under; a worker whose own differs fails it
 * with `map_mismatch` instead of running another map's plan.
 */

/** JSON with object keys sorted, so equal maps give equal text. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** The map without what `${VAR}` fills (URLs and secrets): each kind blanks its own fields. */
function withoutSecrets(map: DataMap): DataMap {
  const copy = structuredClone(map);
  for (const store of Object.values(copy.stores)) kindOf(store).interpolate(store, () => "");
  return copy;
}

/** Computes the fingerprint (`sha256:<hex>`) of a loaded map against its live stores. */
export async function mapFingerprint(map: DataMap, opts: CheckOptions = {}): Promise<string> {
  const stores: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(map.stores)) {
    const kind = kindOf(spec);
    if (kind.fingerprint) stores[name] = await kind.fingerprint(spec, opts);
  }
  const text = canonical({ map: withoutSecrets(map), stores });
  return `sha256:${createHash("sha256").update(text).digest("hex")}`;
}

/**
 * The fingerprint a process starts with. A map loaded from its file was checked, so its stores
 * answer and a failure here stops the start (fail closed). A map handed in by an embedding
 * program (`given`) may name stores this process does not reach: it runs without a fingerprint
 * (its requests are not compared), and says so in the log.
 */
export async function fingerprintAtStart(map: DataMap, given: boolean, logger: Pick<Logger, "warn">): Promise<string | undefined> {
  if (!given) return mapFingerprint(map);
  try {
    return await mapFingerprint(map);
  } catch (err) {
    logger.warn({ err: { code: (err as { code?: unknown }).code } }, "data map fingerprint unavailable (a store did not answer); requests are not compared");
    return undefined;
  }
}

/**
 * Throws `map_mismatch` (permanent) when a request was submitted under another map than `mine`.
 * A request without a fingerprint (made before they existed) or a process without one passes.
 */
export function assertSameMap(requestFingerprint: string | null | undefined, mine: string | undefined): void {
  if (!requestFingerprint || !mine || requestFingerprint === mine) return;
  throw new PermanentError(
    ERROR_CODES.mapMismatch,
    `the request was submitted under data map ${requestFingerprint}, but this worker runs data map ${mine}; run one data map (and schema) on every process of the deployment`,
  );
}
