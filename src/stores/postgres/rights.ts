import { ERROR_CODES, PermanentError } from "../../errors";
import type { SubjectRef } from "../../subject/reference";
import type { RightsKind, StoreRights } from "../rights-side";
import type { StoreDeps } from "../store-kind";
import { contactColumns } from "../../subject/contact";
import { identityByName } from "../../subject/identity-match";
import { qualified, quoteIdent } from "./ident";
import { identityEqualsSql } from "./identity-sql";
import { baseType } from "./rectify-plan";
import { checkPostgresValues, rectifyPostgres, type RectifyStore } from "./rectify";
import { postgresFieldRefs, postgresSubjectFields } from "./rights-fields";
import type { PostgresStoreSpec } from "./schema";

/**
 * The rights side of the postgres kind: proposed values checked against the live columns, a
 * rectification (or an erasure of fields) applied in one transaction per store, and the
 * subject's contact address for notices. Only the subject store holds the subject's fields.
 */

function openPostgresRights(store: string, deps: StoreDeps): StoreRights {
  const spec = (): PostgresStoreSpec => deps.pools.spec(store);
  const target = async (): Promise<RectifyStore> => ({
    pool: deps.pools.pool(store),
    map: deps.dataMap,
    store,
    spec: spec(),
    schema: await deps.pools.schema(store),
  });
  const isSubjectStore = deps.dataMap.subject.store === store;
  return {
    async checkValues(snapshot, changes) {
      if (!isSubjectStore) return [];
      return checkPostgresValues(await target(), snapshot, changes);
    },
    async rectify(ctx, changes, record) {
      if (!isSubjectStore) return { state: "not_applicable", note: "the subject's fields live in the subject store; this store holds none of them" };
      return rectifyPostgres(await target(), ctx.snapshot, changes, record);
    },
    async transactionStatus(xid) {
      const res = await deps.pools.pool(store).query<{ status: string | null }>(`SELECT txid_status($1::bigint) AS status`, [xid]);
      return res.rows[0]?.status ?? null;
    },
    async contactOf(ref: SubjectRef) {
      if (!isSubjectStore) return null;
      const map = deps.dataMap;
      const by = identityByName(map.subject, ref.name);
      if (!by) throw new PermanentError(ERROR_CODES.badPayload, `unknown identity "${ref.name}"`);
      const to = contactColumns(map).email;
      const schema = await deps.pools.schema(store);
      const type = baseType(schema.tables.get(map.subject.table)?.columns.get(by.column)?.sqlType ?? "text");
      const res = await deps.pools
        .pool(store)
        .query<{ email: string | null }>(
          `SELECT ${to ? `${quoteIdent(to)}::text` : "NULL::text"} AS email FROM ${qualified(spec().schema, map.subject.table)} WHERE ${identityEqualsSql(by.column, "$1", by.match, type)} LIMIT 2`,
          [ref.value],
        );
      if (res.rows.length !== 1) return null;
      const email = res.rows[0]!.email;
      return { email: email && email.trim() !== "" ? email : null };
    },
  };
}

/** The rights member of the postgres kind. */
export const POSTGRES_RIGHTS: RightsKind<PostgresStoreSpec> = {
  isRecipient: false,
  subjectFields: postgresSubjectFields,
  fieldRefs: postgresFieldRefs,
  open: openPostgresRights,
};
