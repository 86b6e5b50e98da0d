import type { PostgresStoreSpec } from "../stores/postgres/schema";
import type { ForeignKey, SchemaInfo } from "../stores/postgres/introspect";

/**
 * Which rows a retention `delete` takes with it. Postgres handles foreign keys declared
 * `ON DELETE CASCADE` / `SET NULL`; every other foreign key into a deleted row would make the
 * DELETE fail, unless the referencing table is declared in the data map with action `delete`:
 * then the sweep deletes those dependents itself, first, in the same batch transaction.
 */

/** One table the sweep deletes from before the policy's table: reached through `chain`. */
export interface DependentDelete {
  /** The dependent table. */
  table: string;
  /**
   * Foreign keys from `table` up to the policy's table: `chain[0]` goes out of `table`, the last
   * one points into the policy's table. Intermediate tables may be ones Postgres cascades into.
   */
  chain: ForeignKey[];
}

/** Why a delete is not safe: a foreign key that would block it or leave an orphan. */
export interface DeleteBlocker {
  fk: ForeignKey;
  reason: string;
}

/** The result of {@link planDeleteCascade}: dependents to delete first (deepest first), or blockers. */
export interface DeleteCascade {
  dependents: DependentDelete[];
  blockers: DeleteBlocker[];
}

const ON_DELETE: Readonly<Record<string, string>> = { a: "NO ACTION", r: "RESTRICT", c: "CASCADE", n: "SET NULL", d: "SET DEFAULT" };

/**
 * Works out, for deleting rows of `table`, which dependents the sweep must delete itself and
 * which foreign keys would block it. Recurses through dependents (their own dependents must be
 * covered too); a cycle of foreign keys among deleted tables is a blocker.
 */
export function planDeleteCascade(store: PostgresStoreSpec, schema: SchemaInfo, table: string): DeleteCascade {
  const out: DeleteCascade = { dependents: [], blockers: [] };
  const visit = (current: string, chain: ForeignKey[], path: string[]): void => {
    for (const fk of schema.foreignKeys) {
      if (fk.to.table !== current) continue;
      const from = fk.from.table;
      const columns = fk.from.columns.map((c) => `"${from}.${c}"`).join(", ");
      const how = `${columns} (${fk.name}, ON DELETE ${ON_DELETE[fk.onDelete] ?? fk.onDelete})`;
      if (fk.onDelete === "n") {
        const notNull = fk.from.columns.filter((c) => schema.tables.get(from)?.columns.get(c)?.isNullable === false);
        if (notNull.length > 0) out.blockers.push({ fk, reason: `"${from}" references "${current}" through ${how}, but the column is NOT NULL` });
        continue;
      }
      if (from === current || path.includes(from)) {
        if (fk.onDelete !== "c") out.blockers.push({ fk, reason: `"${from}" references "${current}" through ${how}, a cycle the sweep cannot order` });
        continue;
      }
      if (fk.onDelete === "c") {
        visit(from, [fk, ...chain], [...path, from]);
        continue;
      }
      if (store.tables[from]?.action === "delete") {
        visit(from, [fk, ...chain], [...path, from]);
        out.dependents.push({ table: from, chain: [fk, ...chain] });
        continue;
      }
      const declared = store.tables[from] ? `declared with action "${store.tables[from]!.action}"` : "not declared in the data map";
      out.blockers.push({
        fk,
        reason: `"${from}" (${declared}) references "${current}" through ${how}; declare "${from}" with action "delete", or give the foreign key ON DELETE CASCADE or SET NULL`,
      });
    }
  };
  visit(table, [], [table]);
  return out;
}
