import type { DataMap } from "../../datamap/schema";
import { checkRetentionPolicies } from "../../retention/check-policies";
import type { CheckOptions, SqlConnection } from "../store-kind";
import { connectStore, describeError } from "./connect";
import { checkUnlinkedReferences } from "./check-links";
import { checkOrphaningDeletes, checkReach } from "./check-reach";
import { checkRightsFields } from "./check-rights";
import { problemList, type PostgresCheckProblem } from "./check-rules";
import { checkSubject } from "./check-subject";
import { checkPartitionConstraints, checkTables } from "./check-tables";
import { sampleIdentityOverlaps, type OverlapResult } from "./identity-overlap";
import { introspect, type SchemaInfo } from "./introspect";
import { isDeclaredLink, referenceTargets, referencesByName } from "./reference-columns";
import type { PostgresStoreSpec } from "./schema";

export { POSTGRES_CHECK_RULES, type PostgresCheckRule } from "./check-rules";

/**
 * `lethe check` for one postgres store: connects, makes sure the schema exists, introspects it,
 * samples columns for the subject's identity values (the subject's store only; see
 * `identity-overlap`), checks the declarations ({@link checkStore}) and closes the connection.
 */
export async function checkPostgresStore(map: DataMap, name: string, store: PostgresStoreSpec, opts: CheckOptions = {}): Promise<PostgresCheckProblem[]> {
  const connect = opts.connect ?? connectStore;
  let db: SqlConnection;
  try {
    db = await connect(store.url);
  } catch (err) {
    return [{ key: `stores.${name}.url`, rule: "store-unreachable", message: `cannot connect to the store (${describeError(err)})` }];
  }
  try {
    const ns = await db.query<{ found: number }>("SELECT 1 AS found FROM pg_namespace WHERE nspname = $1", [store.schema]);
    if (ns.rowCount === 0) {
      return [{ key: `stores.${name}.schema`, rule: "missing-schema", message: `schema "${store.schema}" does not exist in the store's database` }];
    }
    const schema = await introspect(db, store.schema);
    const overlaps =
      map.subject.store === name && schema.tables.has(map.subject.table)
        ? await sampleIdentityOverlaps(db, schema, map.subject, (t, c) => isDeclaredLink(store, t, c))
        : null;
    return checkStore(map, name, store, schema, overlaps);
  } catch (err) {
    return [{ key: `stores.${name}.url`, rule: "store-unreachable", message: `cannot read the store's catalog (${describeError(err)})` }];
  } finally {
    await db.end().catch(() => undefined);
  }
}

/**
 * Checks one Postgres store's declarations against its introspected schema (pure; no I/O).
 * Reachability rules apply to the subject's store, where the subject table is. `overlaps` are the
 * columns a sample found holding the subject's identity values (null: not sampled).
 */
export function checkStore(
  map: DataMap,
  name: string,
  store: PostgresStoreSpec,
  schema: SchemaInfo,
  overlaps: OverlapResult | null = null,
): PostgresCheckProblem[] {
  const { problems, add } = problemList();
  const at = `stores.${name}`;
  checkTables(at, store, schema, add);
  checkPartitionConstraints(at, schema, add);
  const subjectInfo = map.subject.store === name ? schema.tables.get(map.subject.table) : undefined;
  if (subjectInfo) checkSubject(map, subjectInfo, add);
  const reached = subjectInfo ? checkReach(map, at, store, schema, add) : null;
  checkUnlinkedReferences(at, store, referencesByName(schema, referenceTargets(store, map.subject, name), map.subject), overlaps, add);
  checkOrphaningDeletes(at, store, schema, reached, add);
  checkRightsFields(map, at, name, store, schema, add);
  problems.push(...checkRetentionPolicies(map, name, store, schema));
  return problems;
}
