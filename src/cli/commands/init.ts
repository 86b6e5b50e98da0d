import { existsSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import type * as Pg from "pg";
import type * as DataMapInit from "../../datamap/init";
import type * as Introspect from "../../stores/postgres/introspect";
import type * as IdentityOverlap from "../../stores/postgres/identity-overlap";

/** Options of `lethe init`. */
export interface InitOptions {
  /** Connection URL of the application's database. */
  fromDb: string;
  /** `<table>.<column>` of the subject key. */
  subject: string;
  /** (Default: `public`.) */
  schema: string;
  /** Data-map name of the store. (Default: `main`.) */
  store: string;
  /** (Default: `lethe.config.json`.) */
  out: string;
  /** Write `${VAR}` as the store URL instead of the URL itself. */
  urlEnv?: string;
  /** Overwrite an existing `out`. */
  force?: boolean;
}

/** Introspects the database and writes a draft data map; returns a one-line summary. */
export async function runInit(opts: InitOptions): Promise<string> {
  // Loaded when the command runs, so `lethe --help` stays fast.
  const { Client } = require("pg") as typeof Pg;
  const { draftDataMap, draftSubjectOf, parseSubjectArg } = require("../../datamap/init") as typeof DataMapInit;
  const { introspect } = require("../../stores/postgres/introspect") as typeof Introspect;
  const { sampleIdentityOverlaps } = require("../../stores/postgres/identity-overlap") as typeof IdentityOverlap;
  const subject = parseSubjectArg(opts.subject);
  if (opts.urlEnv !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(opts.urlEnv)) throw new Error("--url-env must be an environment variable name");
  const out = resolve(opts.out);
  if (existsSync(out) && !opts.force) throw new Error(`${out} exists; pass --force to overwrite it`);
  const client = new Client({ connectionString: opts.fromDb, connectionTimeoutMillis: 10_000 });
  const { schema, found } = await (async () => {
    try {
      await client.connect();
      const schema = await introspect(client, opts.schema);
      if (schema.tables.size === 0) throw new Error(`schema "${opts.schema}" has no tables`);
      // Columns holding the subject's identity values (a bounded sample, compared inside Postgres).
      const overlaps = await sampleIdentityOverlaps(client, schema, draftSubjectOf(schema, subject, opts.store), () => false);
      return { schema, found: overlaps.found };
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  const draft = draftDataMap(schema, subject, { store: opts.store, url: opts.urlEnv ? `\${${opts.urlEnv}}` : opts.fromDb, valueReferences: found });
  writeFileSync(out, `${JSON.stringify(draft, null, 2)}\n`, { flag: opts.force ? "w" : "wx" });
  const store = draft.stores[opts.store]!;
  const todos = Object.values(store.tables).reduce((n, t) => n + Object.values(t.fields ?? {}).filter((f) => "todo" in f).length, 0);
  const others = Object.values(store.tables).filter((t) => t.owner === "others").length;
  const links = Object.values(store.tables).reduce((n, t) => n + (t.via?.length ?? 0), 0);
  return `wrote ${out}: ${Object.keys(store.tables).length} tables (${others} other people's), ${Object.keys(store.ignore ?? {}).length} ignored, ${links} links without a foreign key, ${todos} columns to decide; then run lethe check`;
}

function hasPassword(url: string): boolean {
  try {
    return new URL(url).password !== "";
  } catch {
    return false;
  }
}

/** Registers `lethe init --from-db <url> --subject <table>.<column>`. */
export function register(program: Command): void {
  program
    .command("init")
    .description("write a draft data map from a live database; decide every todo, then run lethe check")
    .requiredOption("--from-db <url>", "connection URL of the application's database")
    .requiredOption("--subject <table.column>", "subject table and key column, e.g. customer.customer_id")
    .option("--schema <name>", "schema to read", "public")
    .option("--store <name>", "data-map name of the store", "main")
    .option("--out <path>", "file to write", "lethe.config.json")
    .option("--url-env <VAR>", "write ${VAR} as the store URL, so the secret stays in the environment")
    .option("--force", "overwrite an existing file")
    .action(async (opts: InitOptions) => {
      if (!opts.urlEnv && hasPassword(opts.fromDb)) {
        process.stderr.write("lethe init: the URL holds a password and is written into the file as is; consider --url-env\n");
      }
      process.stdout.write(`${await runInit(opts)}\n`);
    });
}
