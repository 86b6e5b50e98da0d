import { z } from "zod";
import { filesKind } from "./files";
import { openDsrKind } from "./opendsr";
import { postgresKind } from "./postgres";
import { redisKind } from "./redis";
import type { StoreKind } from "./store-kind";
import { webhookKind } from "./webhook";

/** Every store kind Lethe knows, in the order the data map's schema lists them. A new kind adds one line here. */
export const STORE_KINDS = [postgresKind, webhookKind, redisKind, filesKind, openDsrKind] as const;

type Kinds = typeof STORE_KINDS;
/** The kinds' schema fragments as a tuple type, in order (what the discriminated union needs). */
type SchemasOf<T extends readonly unknown[]> = { -readonly [I in keyof T]: T[I] extends { schema: infer S } ? S : never };
type Schemas = SchemasOf<Kinds>;

/** One store's declaration: the union of every kind's schema fragment, by `kind`. */
export const STORE_SCHEMA = z.discriminatedUnion("kind", STORE_KINDS.map((k) => k.schema) as unknown as Schemas);
/** A store declaration. */
export type StoreSpec = z.infer<typeof STORE_SCHEMA>;

/** The ids of every kind's `lethe check` rules. */
export type StoreCheckRule = Kinds[number]["checkRules"][number];

const BY_KIND = new Map<string, StoreKind>(STORE_KINDS.map((k) => [k.kind, k as StoreKind]));

/** The kind of a store declaration. */
export function kindOf(spec: { kind: string }): StoreKind {
  const kind = BY_KIND.get(spec.kind);
  if (!kind) throw new Error(`unknown store kind "${spec.kind}"`);
  return kind;
}
