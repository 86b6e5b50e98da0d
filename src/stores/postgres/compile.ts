import { createHash } from "node:crypto";
import type { DataMap } from "../../datamap/schema";
import { contactColumns } from "../../subject/contact";
import { identityByName, identitySpecs, type IdentitySpec, type MatchRule } from "../../subject/identity-match";
import { maskedColumns, unmaskedSql } from "./masked";
import { qualified, quoteIdent } from "./ident";
import { identityEqualsSql } from "./identity-sql";
import { maskSql } from "./masking";
import type { Link } from "./graph";
import type { StorePlan } from "./store-plan";

/**
 * The erasure of one Postgres store, compiled once per (data map, live schema) into one PL/pgSQL
 * function and a set of temporary tables, created in `pg_temp` of each pooled connection the first
 * time that connection runs it (cached by fingerprint). A call finds, changes and re-checks the
 * subject's rows inside Postgres with set-based statements: no row or id travels through Node, so
 * the worker's memory does not grow with the subject, and the number of round trips does not grow
 * with the number of tables.
 *
 * What a call does, in the caller's transaction:
 * - **resolve** (mode `erase` with an identity): finds the subject row by the identity's match rule,
 *   locks it (`FOR UPDATE`: the application cannot add a row referencing it until COMMIT), and
 *   snapshots its key, identities, contact and link columns as text;
 * - **collect**: the subject's rows of every planned table into a temporary table (`<tableoid,
 *   ctid>` and link values), owned rows reaching their dependents through incoming links, any row
 *   reaching what it references through outgoing links, round by round until nothing new turns up
 *   (semi-naive: each round reads only the rows the previous round found);
 * - **decide**: a referenced (not owned) row that any row outside the subject's uses, through any
 *   foreign key or `via` of the schema, is `shared` and left alone;
 * - **apply** (mode `erase`), in change order: DELETE for deleted tables, one UPDATE for the others
 *   that masks what is not masked yet and sets NULL the references to deleted rows;
 * - **verify**: collects again from the snapshot (so rows linked to a deleted subject row are
 *   found too) and counts what still identifies the subject; the caller rolls back if anything is.
 *
 * The rules are those of the previous in-Node planner (collect/decide/apply), kept row for row:
 * `test/erasure/compiled.test.ts` compares every row of every table before and after.
 */

/** One compiled store erasure. */
export interface CompiledErasure {
  /** Hash of the generated SQL: changes whenever the map or the live schema does. */
  fingerprint: string;
  /** `pg_temp.lethe_erase_<fingerprint>`. */
  functionName: string;
  /** Creates the temporary tables and the function (one simple query; run outside a transaction). */
  setupSql: string;
  /** Identity names (`id` first) → the function's identity index. */
  identities: string[];
  /** Columns of the snapshot (`seed`) the function returns and takes. */
  seedColumns: string[];
}

/** Per-table figures a call returns, in change order: `[decided, shared, changed, leftover]`. */
export type TableFigures = [number, number, number, number];

/** What a call returns. */
export interface CompiledResult {
  /** The transaction id (mode `erase`), as text. */
  xid: string | null;
  /** Mode `erase` with an identity: how many subject rows matched (0, 1, or 2 = ambiguous). */
  matched: number | null;
  /** Mode `erase` with an identity: the subject row's snapshot columns as text. */
  seed: Record<string, string | null> | null;
  /** Per planned table in change order. */
  tables: TableFigures[];
}

/** The call's mode: `erase` changes and re-checks; `preview` counts; `verify` re-checks only. */
export type CompiledMode = "erase" | "preview" | "verify";

const cache = new WeakMap<StorePlan, CompiledErasure>();

/** The compiled erasure of `plan` (memoised per plan object: one per map and introspected schema). */
export function compiledErasure(plan: StorePlan, map: DataMap): CompiledErasure {
  let c = cache.get(plan);
  if (!c) cache.set(plan, (c = compile(plan, map)));
  return c;
}

// Every PL/pgSQL variable and parameter starts with `_lethe_`, so no column of an application
// table (referenced unqualified in mask expressions) can be mistaken for one.
const V = {
  mode: "_lethe_mode",
  ident: "_lethe_ident",
  value: "_lethe_value",
  key: "_lethe_key",
  virtual: "_lethe_virtual",
  ipad: "_lethe_ipad",
  opad: "_lethe_opad",
  k: "_lethe_k",
  n: "_lethe_n",
  grown: "_lethe_grown",
  row: "_lethe_row",
  seed: "_lethe_seed",
  matched: "_lethe_matched",
  out: "_lethe_out",
  figures: "_lethe_figures",
  decided: "_lethe_decided",
  shared: "_lethe_shared",
  changed: "_lethe_changed",
  left: "_lethe_left",
  analyzed: "_lethe_analyzed",
} as const;

/** Rows a temporary set must hold before it is analyzed. */
const ANALYZE_FROM = 2000;

/** Upper bound of collection rounds; each must find a row, so a sane schema never reaches it. */
const MAX_ROUNDS = 10_000;

interface TableModel {
  name: string;
  index: number;
  /** The columns any link reads, stored in the temporary table as `k_<i>`. */
  linkCols: string[];
  typeOf: (column: string) => string;
}

function compile(plan: StorePlan, map: DataMap): CompiledErasure {
  const tables = new Map<string, TableModel>();
  plan.order.forEach((name, index) => {
    const info = plan.tables.get(name)!.info;
    tables.set(name, { name, index, linkCols: linkColumnsOf(plan, name), typeOf: (c) => info.columns.get(c)?.sqlType ?? "text" });
  });
  const subject = tables.get(plan.subjectTable)!;
  const identities: IdentitySpec[] = [identityByName(map.subject, "id")!, ...identitySpecs(map.subject)];
  const contact = contactColumns(map);
  const seedColumns = [...new Set([map.subject.key, ...identitySpecs(map.subject).map((i) => i.column), ...Object.values(contact), ...subject.linkCols])];

  // The body is generated with a placeholder for the fingerprint (temporary table names), hashed,
  // then the placeholder is filled in.
  const FP = "\u0000FP\u0000";
  const temp = (set: "r" | "v", t: TableModel) => `pg_temp.lethe_${set}_${FP}_${t.index}`;
  const base = (t: TableModel) => qualified(plan.schemaName, t.name);
  const k = (t: TableModel, column: string) => `k_${t.linkCols.indexOf(column)}`;
  const isPartitioned = (t: TableModel) => plan.tables.get(t.name)!.info.children.length > 0;
  const decidedOf = (alias: string) => `${alias}.tid IS NOT NULL AND NOT ${alias}.shared`;

  /** `b.<cols>` IN the source set's `<cols>`, by the link's rule; source values cast to the target's types. */
  /**
   * `<target columns>` IN the source set's `<columns>`, by the link's rule; source values cast to
   * the target's types. `lhs` is how a target column is read (`b."col"`, or a stored `x.k_0`).
   */
  const inSet = (
    target: TableModel,
    targetCols: string[],
    lhs: (column: string) => string,
    source: TableModel,
    sourceCols: string[],
    sourceSql: string,
    where: string,
    match: MatchRule,
  ) => {
    if (targetCols.length === 1 && match === "normalized") {
      return `lower(btrim(${lhs(targetCols[0]!)}::text)) IN (SELECT lower(btrim(r.${k(source, sourceCols[0]!)}::text)) FROM ${sourceSql} r WHERE ${where})`;
    }
    const rhs = sourceCols.map((c, i) => castTo(`r.${k(source, c)}`, source.typeOf(c), target.typeOf(targetCols[i]!))).join(", ");
    return `(${targetCols.map(lhs).join(", ")}) IN (SELECT ${rhs} FROM ${sourceSql} r WHERE ${where})`;
  };
  const baseCol = (c: string) => `b.${quoteIdent(c)}`;
  const insertCols = (t: TableModel) => ["toid", "tid", "owned", "gen", "shared", "came", ...t.linkCols.map((c) => k(t, c))].join(", ");
  const selectCols = (t: TableModel, owned: boolean, gen: string, came: string) =>
    ["b.tableoid", "b.ctid", String(owned), gen, "false", came, ...t.linkCols.map(baseCol)].join(", ");
  const notCollected = (set: "r" | "v", t: TableModel) => `NOT EXISTS (SELECT 1 FROM ${temp(set, t)} x WHERE x.toid = b.tableoid AND x.tid = b.ctid)`;
  // Per-table counters of the collector (`_lethe_<what>_<table index>`): rows found last round
  // (`new`), this round (`now`), real rows in all (`size`), not owned (`refs`), shared, and at the
  // last ANALYZE; per link, rows its incoming rule found this round and last round. They let a
  // rule whose source found nothing be skipped, and give the figures without counting again.
  const WHATS = ["new", "now", "size", "refs", "shared", "analyzed"] as const;
  const counter = (what: (typeof WHATS)[number], t: TableModel) => `_lethe_${what}_${t.index}`;
  const cameNow = (l: number) => `_lethe_came_${l}`;
  const cameLast = (l: number) => `_lethe_camelast_${l}`;
  const all = [...tables.values()];
  const counterDecls = [
    ...all.flatMap((t) => WHATS.map((w) => `${counter(w, t)} bigint := 0;`)),
    ...plan.links.flatMap((_, l) => [`${cameNow(l)} bigint := 0;`, `${cameLast(l)} bigint := 0;`]),
  ].join(" ");

  // Dead ends: kept tables without masks or references to deleted rows, whose one link is a
  // foreign key to a planned table and which no planned table references (order items of an
  // order). Their rows are found only through that key, lead nowhere else and are never changed,
  // so they are counted, not collected: the rows behind a million-row subject are not copied.
  // (A referenced row they point to is still shared when one of them is not the subject's: with
  // nothing collected, every referencing row counts as outside, as it would, the key being unique.)
  const deadEnds = new Map<string, Link>();
  for (const [name, table] of plan.tables) {
    if (name === plan.subjectTable || table.spec.action !== "keep" || maskedColumns(table).length > 0 || detachLinks(plan, name).length > 0) continue;
    const involved = plan.links.filter((l) => l.from.table === name || l.to.table === name);
    if (involved.length === 1 && involved[0]!.kind === "fk" && involved[0]!.from.table === name) deadEnds.set(name, involved[0]!);
  }
  /** The dead ends' figures: their rows that reference the subject's owned rows. */
  const countDeadEnds = () =>
    [...deadEnds]
      .map(([name, link]) => {
        const t = tables.get(name)!;
        const to = tables.get(link.to.table)!;
        const counted = `SELECT count(*) INTO ${counter("size", t)} FROM ${base(t)} b
                 WHERE ${inSet(t, link.from.columns, baseCol, to, link.to.columns, temp("r", to), "r.owned", link.match)};`;
        // A temporary set has no statistics until it is analyzed: the planner guesses hundreds of
        // rows and counts the dead end with a sequential scan and a hash join (4 ms on 20k rows,
        // seconds on millions). While the owned set is small, an array of its keys makes the count
        // an index probe per key whatever the guess; a big set has been analyzed and keeps `IN`.
        if (link.from.columns.length !== 1 || link.match === "normalized") return counted;
        const col = link.from.columns[0]!;
        const key = castTo(`r.${k(to, link.to.columns[0]!)}`, to.typeOf(link.to.columns[0]!), t.typeOf(col));
        return `IF ${counter("size", to)} < ${ANALYZE_FROM} THEN
                  SELECT count(*) INTO ${counter("size", t)} FROM ${base(t)} b
                   WHERE ${baseCol(col)} = ANY (ARRAY(SELECT ${key} FROM ${temp("r", to)} r WHERE r.owned));
                ELSE
                  ${counted}
                END IF;`;
      })
      .join("\n");

  const collect = (set: "r" | "v"): string[] => {
    const rules: string[] = [];
    plan.links.forEach((link, l) => {
      if (deadEnds.get(link.from.table) === link) return;
      const from = tables.get(link.from.table)!;
      const to = tables.get(link.to.table)!;
      const ownedLastRound = `r.owned AND r.gen = ${V.k} - 1`;
      const add = (t: TableModel, refs: boolean) =>
        `GET DIAGNOSTICS ${V.n} = ROW_COUNT; ${counter("now", t)} := ${counter("now", t)} + ${V.n}; ${counter("size", t)} := ${counter("size", t)} + ${V.n};${
          refs ? ` ${counter("refs", t)} := ${counter("refs", t)} + ${V.n};` : ""
        }`;
      // Incoming: rows of `from` that reference owned rows of `to` found last round are owned;
      // `came` remembers the link that found (or made owned) them.
      rules.push(
        `IF ${counter("new", to)} > 0 THEN
           IF ${counter("refs", from)} > 0 THEN
             UPDATE ${temp(set, from)} x SET owned = true, gen = ${V.k}, came = ${l}
              WHERE NOT x.owned AND x.tid IS NOT NULL
                AND ${inSet(from, link.from.columns, (c) => `x.${k(from, c)}`, to, link.to.columns, temp(set, to), ownedLastRound, link.match)};
             GET DIAGNOSTICS ${V.n} = ROW_COUNT; ${counter("now", from)} := ${counter("now", from)} + ${V.n}; ${counter("refs", from)} := ${counter("refs", from)} - ${V.n};
             ${cameNow(l)} := ${cameNow(l)} + ${V.n};
           END IF;
           INSERT INTO ${temp(set, from)} (${insertCols(from)})
             SELECT ${selectCols(from, true, V.k, String(l))} FROM ${base(from)} b
              WHERE ${inSet(from, link.from.columns, baseCol, to, link.to.columns, temp(set, to), ownedLastRound, link.match)} AND ${notCollected(set, from)};
           ${add(from, false)} ${cameNow(l)} := ${cameNow(l)} + ${V.n};
         END IF;`,
      );
      // Outgoing: rows of `to` that rows of `from` found last round reference are the subject's
      // (referenced). Rows that came in through this very link are skipped: following it back out
      // of them reaches only the rows they were found from (a million order items do not look up
      // their orders again).
      rules.push(
        `IF ${counter("new", from)} - ${cameLast(l)} > 0 THEN
           INSERT INTO ${temp(set, to)} (${insertCols(to)})
             SELECT ${selectCols(to, false, V.k, "NULL")} FROM ${base(to)} b
              WHERE ${inSet(to, link.to.columns, baseCol, from, link.from.columns, temp(set, from), `r.gen = ${V.k} - 1 AND r.came IS DISTINCT FROM ${l}`, link.match)}
                AND ${notCollected(set, to)};
           ${add(to, true)}
         END IF;`,
      );
    });
    return [
      `${V.k} := 0;
       LOOP
         ${V.k} := ${V.k} + 1;
         ${all.map((t) => `${counter("now", t)} := 0;`).join(" ")}
         ${rules.join("\n")}
         ${all.map((t) => `${counter("new", t)} := ${counter("now", t)};`).join(" ")}
         ${plan.links.map((_, l) => `${cameLast(l)} := ${cameNow(l)}; ${cameNow(l)} := 0;`).join(" ")}
         EXIT WHEN ${all.map((t) => counter("now", t)).join(" + ")} = 0;
         IF ${V.k} > ${MAX_ROUNDS} THEN RAISE EXCEPTION 'locating the subject''s rows did not converge'; END IF;
         -- A big set gets statistics, so the next statements are planned for its size (hash joins,
         -- not a nested loop per row); the connection is then closed after the call (its plans
         -- would otherwise stay sized for a big subject).
         ${all
           .map(
             (t) => `IF ${counter("size", t)} >= ${ANALYZE_FROM} AND ${counter("size", t)} >= 4 * ${counter("analyzed", t)} THEN
           ANALYZE ${temp(set, t)}; ${counter("analyzed", t)} := ${counter("size", t)}; ${V.analyzed} := true;
         END IF;`,
           )
           .join("\n")}
       END LOOP;`,
    ];
  };

  /** Resets the collector's counters; the seed rows are the first round's news. */
  const startCollect = () =>
    [...all.flatMap((t) => WHATS.map((w) => `${counter(w, t)} := 0;`)), ...plan.links.flatMap((_, l) => [`${cameNow(l)} := 0;`, `${cameLast(l)} := 0;`])].join(
      " ",
    );
  /** Seed rows are the first round's news; real ones count in the set's size (virtual ones are never decided). */
  const seeded = (real: boolean) =>
    `GET DIAGNOSTICS ${V.n} = ROW_COUNT; ${counter("new", subject)} := ${counter("new", subject)} + ${V.n};${
      real ? ` ${counter("size", subject)} := ${counter("size", subject)} + ${V.n};` : ""
    }`;

  const seedReal = (set: "r" | "v", lock: boolean) =>
    `${startCollect()}
     INSERT INTO ${temp(set, subject)} (${insertCols(subject)})
       SELECT ${selectCols(subject, true, "0", "NULL")} FROM ${base(subject)} b
        WHERE b.${quoteIdent(map.subject.key)} = ${V.key}::text::${subject.typeOf(map.subject.key)}${lock ? " FOR UPDATE OF b" : ""};
     ${seeded(true)}`;
  const seedVirtual = (set: "r" | "v") =>
    `INSERT INTO ${temp(set, subject)} (${insertCols(subject)})
       VALUES (NULL, NULL, true, 0, false, NULL${subject.linkCols.map((c) => `, (${V.virtual} ->> ${literal(c)})::${subject.typeOf(c)}`).join("")});
     ${seeded(false)}`;

  /** Marks referenced rows used by anyone outside the subject's rows as shared, table by table in change order. */
  const decide = (set: "r" | "v"): string[] => {
    const out: string[] = [];
    for (const name of plan.order) {
      const t = tables.get(name)!;
      if (plan.tables.get(name)!.spec.action === "keep") continue;
      for (const link of plan.inbound.get(name) ?? []) {
        const from = tables.get(link.from.table);
        const fromInfo = plan.schema.tables.get(link.from.table);
        const eq = link.from.columns
          .map((c, i) => {
            const tc = link.to.columns[i]!;
            if (link.from.columns.length === 1 && link.match === "normalized")
              return `lower(btrim(b.${quoteIdent(c)}::text)) = lower(btrim(r.${k(t, tc)}::text))`;
            return `b.${quoteIdent(c)} = ${castTo(`r.${k(t, tc)}`, t.typeOf(tc), fromInfo?.columns.get(c)?.sqlType ?? "text")}`;
          })
          .join(" AND ");
        // Rows of the referencing table that are the subject's do not make a row shared: its decided
        // rows once decided (earlier in change order), else all of its collected rows.
        const inside = from
          ? ` AND NOT EXISTS (SELECT 1 FROM ${temp(set, from)} x WHERE x.toid = b.tableoid AND x.tid = b.ctid${from === t ? "" : " AND NOT x.shared"})`
          : "";
        out.push(
          `IF ${counter("refs", t)} > ${counter("shared", t)} THEN
             UPDATE ${temp(set, t)} r SET shared = true
              WHERE r.tid IS NOT NULL AND NOT r.owned AND NOT r.shared
                AND EXISTS (SELECT 1 FROM ${qualified(plan.schemaName, link.from.table)} b WHERE ${eq}${inside});
             GET DIAGNOSTICS ${V.n} = ROW_COUNT; ${counter("shared", t)} := ${counter("shared", t)} + ${V.n};
           END IF;`,
        );
      }
    }
    return out;
  };

  /** `b`'s row is one of the decided rows of `set`'s table `t`. */
  const isDecided = (set: "r" | "v", t: TableModel) => {
    const tids = `b.ctid = ANY (ARRAY(SELECT r.tid FROM ${temp(set, t)} r WHERE ${decidedOf("r")}))`;
    return isPartitioned(t) ? `${tids} AND EXISTS (SELECT 1 FROM ${temp(set, t)} r WHERE r.toid = b.tableoid AND r.tid = b.ctid AND ${decidedOf("r")})` : tids;
  };

  /** The figures of table `t` from the counters; `changed` and `left` run only when it has decided rows. */
  const figures = (t: TableModel, changed: string, left: string) =>
    `${V.shared} := ${counter("shared", t)}; ${V.decided} := ${counter("size", t)} - ${V.shared}; ${V.changed} := 0; ${V.left} := 0;
     IF ${V.decided} > 0 THEN
       ${changed}
       ${left}
     END IF;
     ${V.figures} := ${V.figures} || jsonb_build_array(jsonb_build_array(${V.decided}, ${V.shared}, ${V.changed}, ${V.left}));`;

  /** DELETE or UPDATE in change order; figures per table. */
  const apply = (): string[] =>
    plan.order.map((name) => {
      const t = tables.get(name)!;
      const table = plan.tables.get(name)!;
      let change = `${V.changed} := 0;`;
      if (table.spec.action === "delete") {
        change = `DELETE FROM ${base(t)} b WHERE ${isDecided("r", t)}; GET DIAGNOSTICS ${V.changed} = ROW_COUNT;`;
      } else {
        const sets: string[] = [];
        const conditions: string[] = [];
        for (const m of maskedColumns(table)) {
          const sql = maskSql(m.mask, table.info.columns.get(m.column)!, V.ipad, V.opad);
          const c = quoteIdent(m.column);
          sets.push(`${c} = CASE WHEN ${sql.isMasked} THEN ${c} ELSE ${sql.value} END`);
        }
        const unmasked = unmaskedSql(table, V.ipad, V.opad);
        if (unmasked) conditions.push(unmasked);
        // References to rows being deleted are set NULL (a kept or anonymized row lets go of them).
        const detach = new Map<string, string[]>();
        for (const link of detachLinks(plan, name)) {
          const target = tables.get(link.to.table)!;
          const hit = `(${link.from.columns.map((c) => `b.${quoteIdent(c)}`).join(", ")}) IN (SELECT ${link.to.columns
            .map((c, i) => castTo(`y.${k(target, c)}`, target.typeOf(c), t.typeOf(link.from.columns[i]!)))
            .join(", ")} FROM ${temp("r", target)} y WHERE ${decidedOf("y")})`;
          for (const c of link.from.columns) detach.set(c, [...(detach.get(c) ?? []), hit]);
          conditions.push(hit);
        }
        for (const [column, hits] of detach) {
          const c = quoteIdent(column);
          sets.push(`${c} = CASE WHEN ${hits.join(" OR ")} THEN NULL ELSE ${c} END`);
        }
        if (sets.length > 0) {
          change = `UPDATE ${base(t)} b SET ${sets.join(", ")} WHERE ${isDecided("r", t)} AND (${conditions.join(" OR ")});
                    GET DIAGNOSTICS ${V.changed} = ROW_COUNT;`;
        }
      }
      return figures(t, change, "");
    });

  /** What a preview reports: rows an anonymizing table would change (not masked yet), else the decided rows. */
  const preview = (): string[] =>
    plan.order.map((name) => {
      const t = tables.get(name)!;
      const table = plan.tables.get(name)!;
      const unmasked = unmaskedSql(table, V.ipad, V.opad);
      let changed = `${V.changed} := ${V.decided};`;
      if (table.spec.action === "anonymize")
        changed = unmasked ? `SELECT count(*) INTO ${V.changed} FROM ${base(t)} b WHERE ${isDecided("r", t)} AND ${unmasked};` : `${V.changed} := 0;`;
      return figures(t, changed, "");
    });

  /** What still identifies the subject: decided rows of deleted tables, unmasked decided rows of the others. */
  const leftovers = (set: "r" | "v"): string[] =>
    plan.order.map((name) => {
      const t = tables.get(name)!;
      const table = plan.tables.get(name)!;
      const unmasked = unmaskedSql(table, V.ipad, V.opad);
      let left = `${V.left} := 0;`;
      if (table.spec.action === "delete") left = `${V.left} := ${V.decided};`;
      else if (unmasked) left = `SELECT count(*) INTO ${V.left} FROM ${base(t)} b WHERE ${isDecided(set, t)} AND ${unmasked};`;
      return figures(t, "", left);
    });

  const resolve = identities
    .map((spec, i) => {
      const type = subject.typeOf(spec.column);
      const cols = seedColumns.map((c) => `${literal(c)}, b.${quoteIdent(c)}::text`).join(", ");
      return `${i === 0 ? "IF" : "ELSIF"} ${V.ident} = ${i} THEN
          FOR ${V.row} IN SELECT jsonb_build_object(${cols}) AS j FROM ${base(subject)} b
                 WHERE ${identityEqualsSql(spec.column, V.value, spec.match, type, "b")} LIMIT 2 FOR UPDATE OF b LOOP
            ${V.matched} := ${V.matched} + 1; ${V.seed} := ${V.row}.j;
          END LOOP;`;
    })
    .join("\n");

  const body = `
DECLARE
  ${V.k} integer; ${V.n} bigint; ${V.grown} bigint; ${V.row} record; ${V.seed} jsonb := ${V.virtual}; ${V.matched} integer := 0;
  ${V.figures} jsonb := '[]'; ${V.analyzed} boolean := false; ${counterDecls} ${V.decided} bigint; ${V.shared} bigint; ${V.changed} bigint; ${V.left} bigint;
BEGIN
  -- The sets keep their rows past COMMIT (ON COMMIT PRESERVE ROWS) and are emptied here, at the
  -- start of every call (also after a rolled-back one): truncating them at COMMIT gave each set
  -- back to the file system, and the next call's first row in each extended its file again
  -- (0.2 ms a set per erasure, in the kernel); the emptied page stays in local buffers.
  WITH ${(["r", "v"] as const).flatMap((set) => all.map((t) => `d_${set}_${t.index} AS (DELETE FROM ${temp(set, t)})`)).join(", ")}
  SELECT 1 INTO ${V.n};
  IF ${V.mode} = 'erase' THEN
    IF ${V.ident} IS NOT NULL THEN
      ${resolve}
      ELSE RAISE EXCEPTION 'unknown identity index %', ${V.ident};
      END IF;
      IF ${V.matched} <> 1 THEN RETURN jsonb_build_object('matched', ${V.matched}); END IF;
      ${V.key} := ${V.seed} ->> ${literal(map.subject.key)};
    END IF;
    -- The subject row is locked first; linked rows are found from its current values AND from the
    -- snapshot (taken when the request started, or just now), the seed the verification uses: a
    -- sweep that re-masked the subject's email since cannot hide the rows linked by the old one.
    ${seedReal("r", true)}
    ${seedVirtual("r").replaceAll(V.virtual, V.seed)}
    ${collect("r").join("\n")}
    ${countDeadEnds()}
    ${decide("r").join("\n")}
    ${apply().join("\n")}
    -- Verification, before COMMIT: collect again from the snapshot, in the second set of tables.
    ${seedReal("v", false)}
    ${seedVirtual("v").replaceAll(V.virtual, V.seed)}
    ${collect("v").join("\n")}
    ${decide("v").join("\n")}
    ${V.out} := ${V.figures}; ${V.figures} := '[]';
    ${leftovers("v").join("\n")}
    RETURN jsonb_build_object('xid', txid_current()::text, 'matched', ${V.matched}, 'seed', ${V.seed}, 'tables', ${V.out}, 'left', ${V.figures}, 'analyzed', ${V.analyzed});
  ELSIF ${V.mode} = 'preview' THEN
    ${seedReal("r", false)}
    ${collect("r").join("\n")}
    ${countDeadEnds()}
    ${decide("r").join("\n")}
    ${preview().join("\n")}
    RETURN jsonb_build_object('tables', ${V.figures}, 'analyzed', ${V.analyzed});
  ELSIF ${V.mode} = 'verify' THEN
    ${seedReal("r", false)}
    ${seedVirtual("r")}
    ${collect("r").join("\n")}
    ${decide("r").join("\n")}
    ${leftovers("r").join("\n")}
    RETURN jsonb_build_object('left', ${V.figures}, 'analyzed', ${V.analyzed});
  END IF;
  RAISE EXCEPTION 'unknown mode %', ${V.mode};
END`.replace(`${V.decided} bigint;`, `${V.decided} bigint; ${V.out} jsonb;`);

  const tableDdl = (set: "r" | "v", t: TableModel) => {
    const name = temp(set, t);
    const cols = [
      "b.tableoid AS toid",
      "b.ctid AS tid",
      "true AS owned",
      "0 AS gen",
      "false AS shared",
      "NULL::integer AS came",
      ...t.linkCols.map((c) => `b.${quoteIdent(c)} AS ${k(t, c)}`),
    ];
    return `CREATE TEMP TABLE IF NOT EXISTS ${name.slice("pg_temp.".length)} ON COMMIT PRESERVE ROWS AS SELECT ${cols.join(", ")} FROM ${base(t)} b WITH NO DATA;`;
  };
  const ddl = (["r", "v"] as const).flatMap((set) => [...tables.values()].map((t) => tableDdl(set, t))).join("\n");
  const signature = `${V.mode} text, ${V.ident} integer, ${V.value} text, ${V.key} text, ${V.virtual} jsonb, ${V.ipad} bytea, ${V.opad} bytea`;
  // The body is generated, so its validation at CREATE is skipped (`check_function_bodies`, for
  // this set-up's transaction only): Postgres parses it once, at the first call, not twice per
  // connection (a big store's body took 100 ms to validate).
  const draft = `${ddl}\nSELECT set_config('check_function_bodies', 'off', true);\nCREATE OR REPLACE FUNCTION pg_temp.lethe_erase_${FP}(${signature}) RETURNS jsonb LANGUAGE plpgsql AS $lethe$${body}$lethe$;`;
  if (body.includes("$lethe$")) throw new Error("a schema name contains the function body's quote; it cannot be compiled");
  const fingerprint = createHash("sha256").update(draft).digest("hex").slice(0, 16);
  return {
    fingerprint,
    functionName: `pg_temp.lethe_erase_${fingerprint}`,
    setupSql: draft.replaceAll(FP, fingerprint),
    identities: identities.map((i) => i.name),
    seedColumns,
  };
}

/** The columns of `table` that any link of the plan reads (both sides, and the referenced side of inbound links). */
export function linkColumnsOf(plan: StorePlan, table: string): string[] {
  const cols = new Set<string>();
  for (const l of plan.links) {
    if (l.from.table === table) l.from.columns.forEach((c) => cols.add(c));
    if (l.to.table === table) l.to.columns.forEach((c) => cols.add(c));
  }
  for (const l of plan.inbound.get(table) ?? []) l.to.columns.forEach((c) => cols.add(c));
  return [...cols];
}

/** Foreign keys from `table` (not deleted) to a deleted table: their columns are set NULL on the rows they reference. */
function detachLinks(plan: StorePlan, table: string): Link[] {
  if (plan.tables.get(table)!.spec.action === "delete") return [];
  return plan.links.filter((l) => l.kind === "fk" && l.from.table === table && plan.tables.get(l.to.table)!.spec.action === "delete");
}

/** `expr` of type `from` as type `to` (through text, as the planner compared link values), or as it is. */
function castTo(expr: string, from: string, to: string): string {
  return from === to ? expr : `${expr}::text::${to}`;
}

/** A string literal of a name from the validated data map or the catalog (never a value). */
function literal(name: string): string {
  return `'${name.replace(/'/g, "''")}'`;
}
