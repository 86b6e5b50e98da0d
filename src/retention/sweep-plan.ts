import type { DataMap } from "../datamap/schema";
import { postgresStoreOf, type Mask } from "../stores/postgres/schema";
import type { Condition, RetentionPolicy } from "../datamap/retention-policy";
import { ERROR_CODES, PermanentError } from "../errors";
import type { ColumnInfo, SchemaInfo } from "../stores/postgres/introspect";
import { qualified } from "../stores/postgres/ident";
import { checkPolicy, personalFields } from "./check-policies";
import { resolveAge, type AgeTerm } from "./age";
import { planCascade, type CascadeNode } from "./cascade";
import { holdPath, type HoldHop } from "./hold-path";

/**
 * Everything a sweep needs to write its SQL, resolved once from the policy, the data map and
 * the live schema. Identifiers all come from the validated map and the catalog.
 */
export interface SweepPlan {
  policy: RetentionPolicy;
  /** Postgres schema of the store. */
  schemaName: string;
  /** The live schema the plan was built from. */
  schema: SchemaInfo;
  /** `"schema"."table"` of the swept table. */
  target: string;
  /** Primary-key columns in key order, with their SQL types (keyset pagination walks them). */
  pk: ColumnInfo[];
  /** The age sources (the greatest of them is the row's age). */
  age: AgeTerm[];
  /** A row without any age is due (`missing: "due"`). */
  missingDue: boolean;
  /** Extra conditions with their columns. */
  where: Array<{ condition: Condition; column: ColumnInfo }>;
  /** `anonymize`: the declared masks of the table. */
  masks: Array<{ column: ColumnInfo; mask: Mask }>;
  /** Linked tables the sweep reaches (deleted, masked, detached), as a tree from the swept table. */
  cascade: CascadeNode[];
  /** Chain from the swept table to the subject table, for legal holds. */
  holdPath: HoldHop[];
  /** The subject table's key column. */
  subjectKey: string;
}

/**
 * Builds the {@link SweepPlan} of `policy`. A policy `lethe check` would refuse is refused here
 * too (fail closed), with the same problems in the message.
 */
export function buildSweepPlan(map: DataMap, policy: RetentionPolicy, schema: SchemaInfo): SweepPlan {
  const store = postgresStoreOf(map, policy.store);
  if (!store) throw new PermanentError(ERROR_CODES.dataMapInvalid, `retention.${policy.name}: store "${policy.store}" is not a postgres store`);
  const problems = checkPolicy(map, policy.store, store, schema, policy);
  if (problems.length > 0) {
    throw new PermanentError(
      ERROR_CODES.dataMapInvalid,
      `policy cannot run (run lethe check): ${problems.map((p) => `${p.key}: [${p.rule}] ${p.message}`).join("; ")}`,
    );
  }
  const info = schema.tables.get(policy.table)!;
  const spec = store.tables[policy.table]!;
  const col = (name: string) => info.columns.get(name)!;
  return {
    policy,
    schemaName: store.schema,
    schema,
    target: qualified(store.schema, policy.table),
    pk: info.primaryKey.map(col),
    age: resolveAge(map, store, schema, policy.table, policy.age).terms,
    missingDue: policy.age.missing === "due",
    where: policy.where.map((condition) => ({ condition, column: col(condition.column) })),
    masks: policy.action === "anonymize" ? personalFields(spec).masked.map((m) => ({ column: col(m.column), mask: m.mask })) : [],
    cascade: planCascade(map, store, schema, policy).nodes,
    holdPath: holdPath(map, policy.store, schema, policy.table)!,
    subjectKey: map.subject.key,
  };
}
