import type { Scope } from "../breach/scope";

/**
 * Breach scopes as a store kind sees them: a kind that can find the people a breached set of rows
 * belongs to implements {@link AffectedLocator} (`StoreKind.affected`). Kind-neutral; the postgres
 * kind walks the data map's links in the database (`stores/postgres/locate-affected`).
 */

/** What a scope reaches, counted. Names tables, categories and countries, never a person. */
export interface AffectedCounts {
  /** Distinct people (subject rows) the breached rows belong to. */
  people: number;
  /** People without a contact address (their notice cannot be sent). */
  peopleWithoutContact: number;
  /** Breached records by table (`store.table`). */
  records: Record<string, number>;
  /** By data category of the breached table's personal fields: records holding it, people they belong to. */
  categories: Record<string, { records: number; people: number }>;
  /** People by country (`subject.contact.country`), or null when the data map declares none. Null values under `""`. */
  countries: Record<string, number> | null;
}

/** One affected person as the freeze receives them, one batch at a time; sealed at once, never logged. */
export interface AffectedPerson {
  /** The subject key, as text. */
  key: string;
  email: string | null;
  locale: string | null;
  country: string | null;
}

/** How a resolution runs. */
export interface AffectedRunOptions {
  /** Statement timeout of the read-only transaction, ms. */
  statementTimeoutMs: number;
  signal?: AbortSignal;
}

/** Finds the people a scope affects, read-only, in one snapshot of the store. */
export interface AffectedLocator {
  /** Counts what the scope reaches (the dry run). Throws `BreachInputError` naming the field for a scope the map or schema refuses. */
  count(scope: Scope, opts: AffectedRunOptions): Promise<AffectedCounts>;
  /** Counts and hands every affected person to `onBatch` (memory: one batch), in the same snapshot. */
  collect(scope: Scope, onBatch: (people: AffectedPerson[]) => Promise<void>, opts: AffectedRunOptions & { batchSize?: number }): Promise<AffectedCounts>;
}
