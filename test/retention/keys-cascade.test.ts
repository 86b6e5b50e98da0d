import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Queue } from "bullmq";
import { checkDataMap } from "../../src/datamap/check";
import { runSql } from "../helpers/db";
import { createHarness, type LetheHarness } from "../helpers/harness";
import { diffChecksums, rowChecksums } from "../helpers/row-checksums";
import { query, retentionQueue, sweep, withPolicies } from "./helpers";
import { subjectHash } from "../../src/subject/hashes";

/**
 * Composite and non-integer primary keys, holds reached through a composite foreign key, and a
 * delete that cascades through dependents the data map declares (deepest first).
 */
const SCHEMA = `
  CREATE TABLE people (id uuid PRIMARY KEY, email text NOT NULL UNIQUE, full_name text, last_seen timestamptz);
  CREATE TABLE events (
    tenant text NOT NULL, person_id uuid NOT NULL REFERENCES people(id), seq int NOT NULL,
    ip inet, occurred_at timestamptz NOT NULL, PRIMARY KEY (tenant, person_id, seq));
  CREATE TABLE notes (
    id text PRIMARY KEY, event_tenant text NOT NULL, event_person uuid NOT NULL, event_seq int NOT NULL, body text, written_at timestamptz NOT NULL,
    FOREIGN KEY (event_tenant, event_person, event_seq) REFERENCES events (tenant, person_id, seq));
  CREATE TABLE logins (id bigint PRIMARY KEY, person_id uuid REFERENCES people(id) ON DELETE SET NULL, at timestamptz NOT NULL);
  CREATE INDEX ON events (person_id);
  CREATE INDEX ON notes (event_tenant, event_person, event_seq);
  -- 60 people, half seen long ago; 3 tenants x 4 events each, half of them old; one note per event.
  INSERT INTO people SELECT gen_random_uuid(), 'p' || g || '@example.com', 'Person ' || g,
    CASE WHEN g % 2 = 0 THEN now() - interval '3 years' ELSE now() - interval '10 days' END FROM generate_series(1, 60) g;
  INSERT INTO events SELECT t, p.id, s, ('10.0.' || s || '.1')::inet, CASE WHEN s % 2 = 0 THEN now() - interval '2 years' ELSE now() END
    FROM people p, unnest(ARRAY['acme', 'globex', 'initech']) t, generate_series(1, 4) s;
  INSERT INTO notes SELECT 'n-' || e.tenant || '-' || e.person_id || '-' || e.seq, e.tenant, e.person_id, e.seq, 'note by ' || p.full_name, e.occurred_at
    FROM events e JOIN people p ON p.id = e.person_id;
  INSERT INTO logins SELECT g, (SELECT id FROM people ORDER BY id OFFSET (g % 60) LIMIT 1), now() FROM generate_series(1, 120) g;
`;

const DATA_MAP = {
  version: 1,
  subject: { store: "app", table: "people", key: "id", identities: { email: "email" } },
  stores: {
    app: {
      kind: "postgres",
      url: "${KEYS_DATABASE_URL}",
      tables: {
        people: { action: "delete", fields: { email: { category: "contact", mask: "email" }, full_name: { category: "identity", mask: "token" } } },
        events: { action: "delete", fields: { ip: { category: "online", mask: "null" } } },
        notes: { action: "delete", fields: { body: { category: "content", mask: "token" } } },
        logins: { action: "delete" },
      },
    },
  },
};

describe("retention sweep: composite keys, holds through links, cascading deletes", () => {
  let h: LetheHarness;
  let queue: Queue;
  let dir: string;
  /** One long-gone and one recent person, both under hold. */
  let held: string[] = [];
  const hold = async (personId: string) =>
    h.ds.query(`INSERT INTO lethe.legal_hold (subject_hash, ground, created_by) VALUES ($1, 'litigation', 'test') RETURNING id`, [
      subjectHash(h.config.hmacKey, "id", personId),
    ]);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lethe-keys-"));
    const path = join(dir, "lethe.config.json");
    writeFileSync(path, JSON.stringify(DATA_MAP));
    h = await createHarness({
      map: { path, urlVar: "KEYS_DATABASE_URL" },
      prepare: (url) => runSql(url, SCHEMA),
      editMap: withPolicies(
        {
          name: "old-events",
          store: "app",
          table: "events",
          age: { column: "occurred_at", olderThan: "P1Y" },
          action: "anonymize",
          batchSize: 7,
          // The notes are swept by their own policy below (holds two links away).
          linked: "leave",
          reason: "notes have their own policy",
        },
        { name: "old-notes", store: "app", table: "notes", age: { column: "written_at", olderThan: "P1Y" }, action: "anonymize", batchSize: 5 },
        { name: "gone-people", store: "app", table: "people", age: { column: "last_seen", olderThan: "P2Y" }, action: "delete", batchSize: 4 },
      ),
    });
    queue = retentionQueue(h);
    await h.startWorker({ queues: ["retention"] });
  });

  afterAll(async () => {
    await queue?.close();
    await h?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it("passes lethe check", async () => {
    expect(await checkDataMap(h.dataMap)).toEqual([]);
  });

  it("walks a (text, uuid, int) primary key in batches and skips the rows of held subjects", async () => {
    const pick = async (op: string) =>
      (await query<{ id: string }>(h.appDb.url, `SELECT id FROM people WHERE last_seen ${op} now() - interval '2 years' ORDER BY id LIMIT 1`))[0]!.id;
    held = [await pick("<"), await pick(">")];
    for (const id of held) await hold(id);
    const dry = await sweep(h, queue, "old-events", { dryRun: true });
    const run = await sweep(h, queue, "old-events");
    const heldOld = 2 * 3 * 2;
    expect(run.rows).toEqual({ matched: 60 * 3 * 2, changed: 60 * 3 * 2 - heldOld, held: heldOld });
    // A dry run names what it would change `wouldChange` and changes nothing.
    expect(dry.rows).toEqual({ ...run.rows, changed: 0, wouldChange: run.rows.changed });
    // Batches hold at most 7 due rows (fewer while sizes adapt): at least this many.
    expect(run.batches).toBeGreaterThanOrEqual(Math.ceil((60 * 3 * 2) / 7));
    const rows = await query<{ person_id: string; seq: number; ip: string | null }>(h.appDb.url, `SELECT person_id, seq, ip::text FROM events`);
    for (const r of rows) {
      const masked = r.seq % 2 === 0 && !held.includes(r.person_id);
      expect({ ...r, ip: r.ip === null ? null : "set" }).toEqual({ ...r, ip: masked ? null : "set" });
    }
  });

  it("recognises held subjects two links away (notes → events → people)", async () => {
    const heldIds = (await h.ds.query(`SELECT subject_hash FROM lethe.legal_hold`)) as Array<{ subject_hash: string }>;
    expect(heldIds).toHaveLength(2);
    const run = await sweep(h, queue, "old-notes");
    const heldOld = 2 * 3 * 2;
    expect(run.rows).toEqual({ matched: 60 * 3 * 2, changed: 60 * 3 * 2 - heldOld, held: heldOld });
    const [left] = await query<{ n: number }>(
      h.appDb.url,
      `SELECT count(*)::int AS n FROM notes WHERE written_at < now() - interval '1 year' AND body <> '[erased]'`,
    );
    expect(left!.n).toBe(heldOld);
  });

  it("deletes due subjects with their declared dependents first (notes, then events, logins: declared delete, as an erasure does); held subjects stay", async () => {
    const before = await rowChecksums(h.appDb.url);
    const doomed = await query<{ id: string }>(h.appDb.url, `SELECT id FROM people WHERE last_seen < now() - interval '2 years'`);
    const heldDoomed = doomed.filter((p) => held.includes(p.id)).length;
    expect(heldDoomed).toBe(1);
    const gone = doomed.length - heldDoomed;
    const dry = await sweep(h, queue, "gone-people", { dryRun: true });
    expect(diffChecksums(before, await rowChecksums(h.appDb.url))).toEqual({ removed: [], changed: [], added: [] });
    const run = await sweep(h, queue, "gone-people");
    expect(run.rows).toEqual({ matched: doomed.length, changed: gone, held: heldDoomed });
    expect(run.cascaded).toEqual({ events: gone * 12, notes: gone * 12, logins: gone * 2 });
    expect({ rows: dry.rows, cascaded: dry.cascaded }).toEqual({ rows: { ...run.rows, changed: 0, wouldChange: run.rows.changed }, cascaded: run.cascaded });
    const [counts] = await query<{ people: number; events: number; notes: number; orphans: number; nulls: number }>(
      h.appDb.url,
      `SELECT (SELECT count(*) FROM people)::int AS people, (SELECT count(*) FROM events)::int AS events, (SELECT count(*) FROM notes)::int AS notes,
              (SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM people p WHERE p.id = e.person_id))::int AS orphans,
              (SELECT count(*) FROM logins WHERE person_id IS NULL)::int AS nulls, (SELECT count(*) FROM logins)::int AS logins`,
    );
    expect(counts).toEqual({ people: 60 - gone, events: (60 - gone) * 12, notes: (60 - gone) * 12, orphans: 0, nulls: 0, logins: (60 - gone) * 2 });
    const stillThere = await query<{ id: string }>(h.appDb.url, `SELECT id FROM people WHERE id = ANY($1::uuid[])`, [held]);
    expect(stillThere).toHaveLength(2);
  });

  it("releasing the hold lets the next run take the held rows", async () => {
    await h.ds.query(`UPDATE lethe.legal_hold SET released_at = now()`);
    const run = await sweep(h, queue, "gone-people");
    expect(run.rows).toEqual({ matched: 1, changed: 1, held: 0 });
    expect(run.cascaded).toEqual({ events: 12, notes: 12, logins: 2 });
    const [left] = await query<{ n: number }>(h.appDb.url, `SELECT count(*)::int AS n FROM people WHERE last_seen < now() - interval '2 years'`);
    expect(left!.n).toBe(0);
  });
});
