import type { DataSource } from "typeorm";
import type { Config } from "../src/config";
import type { DataMap } from "../src/datamap/schema";
import type { DemoApi } from "./api-client";
import type { Printer } from "./print";
import type { SeedSummary } from "./seed";

/**
 * What every part of `npm run demo` shares, built once by `setUp` in demo/run.ts and torn down
 * by `tearDown`. A section may use all of it but closes only what it opens itself.
 */
export interface DemoContext {
  /** Base URL of the in-process API, e.g. `http://127.0.0.1:40123`. */
  apiUrl: string;
  /** Key with scopes requests.write and requests.read (Bearer). */
  apiKey: string;
  /** Key with scope admin (dashboard, retention runs, …). */
  adminKey: string;
  /** `fetch` client of the API with {@link apiKey}. */
  api: DemoApi;
  /** The same, with {@link adminKey}. */
  adminApi: DemoApi;
  /** The demo shop's scratch database (seeded). */
  shopUrl: string;
  /** Lethe's own scratch database (migrated). */
  letheUrl: string;
  /** The resolved configuration the API and the worker run with. */
  config: Config;
  /** The demo's data map (demo/lethe.config.json, store URL filled in). */
  dataMap: DataMap;
  /** An initialized DataSource on Lethe's database, owned by the demo. */
  ds: DataSource;
  /** What was seeded, with example customer ids. */
  seed: SeedSummary;
  /** Where the narrative goes (stdout). */
  out: NodeJS.WritableStream;
  /** Headings, key/value lines and tables on {@link out}. */
  print: Printer;
  /**
   * Registers something to undo at tear-down (run last-in first-out, also after a failure or
   * Ctrl-C), e.g. a temporary directory or an SMTP catcher a section started.
   */
  onTearDown(name: string, fn: () => Promise<unknown>): void;
}

/** One part of the demo after the erasure (a retention sweep, an export, …). Throws to fail the demo. */
export interface DemoSection {
  /** Short name, shown when the section fails. */
  name: string;
  run(ctx: DemoContext): Promise<unknown>;
}
