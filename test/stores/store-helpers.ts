import { randomUUID } from "node:crypto";
import { parseDataMap } from "../../src/datamap/load";
import type { DataMap } from "../../src/datamap/schema";
import { createLogger } from "../../src/logger";
import { StorePools } from "../../src/stores/postgres/pools";
import type { StoreDeps, StoreRunContext } from "../../src/stores/store-kind";
import type { StepCount } from "../../src/types";
import { testConfig } from "../helpers/config";

/**
 * A data map with a postgres subject store (never connected to here: port 1) and one more
 * store `name` as given, validated like a real one; `email` is the subject's one identity.
 */
export function mapWith(name: string, spec: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): DataMap {
  return parseDataMap(
    {
      version: 1,
      subject: { store: "main", table: "users", key: "id", identities: { email: "email" } },
      stores: { main: { kind: "postgres", url: "postgres://postgres@127.0.0.1:1/none", tables: { users: { action: "delete" } } }, [name]: spec },
    },
    "(test)",
    env,
  );
}

/** What an adapter is built from, for `map`. */
export function depsFor(map: DataMap): StoreDeps {
  return { dataMap: map, config: testConfig(), pools: new StorePools(map), logger: createLogger("silent") };
}

/** A run context for `store` with the given snapshot identities. */
export function ctxFor(store: string, identities: Record<string, string>): StoreRunContext {
  return { requestId: randomUUID(), store, snapshot: { identities, seed: {} }, logger: createLogger("silent") };
}

/** A `record` callback that keeps what it was given. */
export function recorder(): { calls: StepCount[][]; record: (steps: StepCount[]) => Promise<void> } {
  const calls: StepCount[][] = [];
  return { calls, record: async (steps) => void calls.push(steps) };
}

/** Rows by step table, for compact assertions. */
export function rowsByTable(steps: StepCount[]): Record<string, number> {
  return Object.fromEntries(steps.map((s) => [s.table, s.rows]));
}
