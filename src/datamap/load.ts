import { readFileSync } from "node:fs";
import { extname, resolve } from "node:path";
import { kindOf } from "../stores/registry";
import { DATA_MAP_SCHEMA, type DataMap } from "./schema";

/** A data map that cannot be used; `problems` name the file, the key and the rule, one per line. */
export class DataMapError extends Error {
  override readonly name = "DataMapError";
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`data map ${file} is invalid:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

/** Formats a zod issue path as a data-map key, e.g. `stores.shop.tables.orders.ground`. */
export function keyOf(path: readonly PropertyKey[]): string {
  return path.length === 0 ? "(root)" : path.map(String).join(".");
}

/** Replaces `${VAR}` in each store's connection strings and secrets (its kind says which) from `env`; a missing variable is a problem naming it. */
function interpolate(map: DataMap, env: NodeJS.ProcessEnv, problems: string[]): void {
  for (const [name, store] of Object.entries(map.stores)) {
    const fill = (key: string, text: string): string =>
      text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, v: string) => {
        const value = env[v];
        if (value === undefined || value === "") {
          problems.push(`stores.${name}.${key}: environment variable ${v} is not set`);
          return "";
        }
        return value;
      });
    kindOf(store).interpolate(store, fill);
  }
}

/** Validates an in-memory data map (`file` is only used in messages). */
export function parseDataMap(raw: unknown, file = "(inline)", env: NodeJS.ProcessEnv = process.env): DataMap {
  const parsed = DATA_MAP_SCHEMA.safeParse(raw);
  if (!parsed.success) {
    throw new DataMapError(
      file,
      parsed.error.issues.map((i) => `${keyOf(i.path)}: ${i.message}`),
    );
  }
  const map = structuredClone(parsed.data);
  const problems: string[] = [];
  interpolate(map, env, problems);
  if (problems.length > 0) throw new DataMapError(file, problems);
  return map;
}

/**
 * Loads a `.js` or `.ts` data map module. A `.ts` file needs a TypeScript loader: the one already
 * registered (tsx in development, jest), else tsx's, loaded only now (the compiled package has none).
 */
function requireMapModule(file: string): { default?: unknown } {
  if (/\.[cm]?ts$/.test(file) && !require.extensions[".ts"]) {
    const tsx = require("tsx/cjs/api") as { require: (id: string, from: string) => unknown };
    return tsx.require(file, __filename) as { default?: unknown };
  }
  return require(file) as { default?: unknown };
}

/** Loads a data map from `.json`, or from `.ts`/`.js` (default export or `module.exports`). */
export function loadDataMap(path: string, env: NodeJS.ProcessEnv = process.env): DataMap {
  const file = resolve(path);
  let raw: unknown;
  try {
    if (extname(file) === ".json") {
      raw = JSON.parse(readFileSync(file, "utf8"));
    } else {
      const mod = requireMapModule(file);
      raw = mod.default ?? mod;
    }
  } catch (err) {
    const reason = err instanceof SyntaxError ? `not valid JSON (${err.message})` : (err as Error).message;
    throw new DataMapError(file, [`(file): cannot be read: ${reason}`]);
  }
  return parseDataMap(raw, file, env);
}
