import type { MigrationInterface, QueryRunner } from "typeorm";

/** Lethe's own state: requests, per-store progress, steps, and the append-only audit log. */
export class Initial1764000000000 implements MigrationInterface {
  name = "Initial1764000000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE SCHEMA IF NOT EXISTS lethe`);
    await q.query(`
      CREATE TABLE lethe.subject_request (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        type text NOT NULL CHECK (type IN ('erasure','export')),
        status text NOT NULL CHECK (status IN ('queued','running','completed','failed','held')),
        dry_run boolean NOT NULL DEFAULT false,
        received_at timestamptz NOT NULL DEFAULT now(),
        due_at timestamptz NOT NULL,
        started_at timestamptz,
        completed_at timestamptz,
        subject_hash text NOT NULL,
        identities bytea,
        requested_by text NOT NULL,
        idempotency_key text,
        error_code text,
        error_message text,
        result jsonb,
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (requested_by, idempotency_key)
      )`);
    await q.query(`CREATE INDEX subject_request_unfinished ON lethe.subject_request (received_at) WHERE status IN ('queued','running','held')`);
    await q.query(`
      CREATE TABLE lethe.request_store (
        request_id uuid NOT NULL REFERENCES lethe.subject_request(id) ON DELETE CASCADE,
        store text NOT NULL,
        status text NOT NULL CHECK (status IN ('pending','prepared','done','failed')),
        xid bigint,
        error_code text,
        error_message text,
        finished_at timestamptz,
        PRIMARY KEY (request_id, store)
      )`);
    await q.query(`
      CREATE TABLE lethe.request_step (
        id bigserial PRIMARY KEY,
        request_id uuid NOT NULL REFERENCES lethe.subject_request(id) ON DELETE CASCADE,
        store text NOT NULL,
        table_name text NOT NULL,
        action text NOT NULL CHECK (action IN ('delete','anonymize','keep','shared','notified')),
        rows integer NOT NULL,
        ground text,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (request_id, store, table_name, action)
      )`);
    await q.query(`
      CREATE TABLE lethe.audit_log (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        event text NOT NULL,
        request_id uuid,
        subject_hash text,
        actor text,
        detail jsonb NOT NULL DEFAULT '{}'::jsonb,
        seq bigint UNIQUE,
        prev_hash text,
        hash text UNIQUE,
        CHECK ((seq IS NULL) = (hash IS NULL) AND (hash IS NULL) = (prev_hash IS NULL))
      )`);
    await q.query(`CREATE INDEX audit_log_subject ON lethe.audit_log (subject_hash) WHERE subject_hash IS NOT NULL`);
    await q.query(`CREATE INDEX audit_log_unsealed ON lethe.audit_log (id) WHERE seq IS NULL`);
    // Append-only: rows are never deleted, and the only update allowed is sealing an unsealed
    // row (setting seq, prev_hash and hash once, nothing else).
    await q.query(`
      CREATE FUNCTION lethe.audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'UPDATE' AND OLD.seq IS NULL AND NEW.seq IS NOT NULL
           AND (NEW.id, NEW.at, NEW.event, NEW.request_id, NEW.subject_hash, NEW.actor, NEW.detail)
               IS NOT DISTINCT FROM (OLD.id, OLD.at, OLD.event, OLD.request_id, OLD.subject_hash, OLD.actor, OLD.detail) THEN
          RETURN NEW;
        END IF;
        RAISE EXCEPTION 'lethe.audit_log is append-only';
      END $$`);
    await q.query(`
      CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON lethe.audit_log
      FOR EACH ROW EXECUTE FUNCTION lethe.audit_log_append_only()`);
    await q.query(`
      CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON lethe.audit_log
      FOR EACH STATEMENT EXECUTE FUNCTION lethe.audit_log_append_only()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE lethe.audit_log`);
    await q.query(`DROP FUNCTION lethe.audit_log_append_only()`);
    await q.query(`DROP TABLE lethe.request_step`);
    await q.query(`DROP TABLE lethe.request_store`);
    await q.query(`DROP TABLE lethe.subject_request`);
  }
}
