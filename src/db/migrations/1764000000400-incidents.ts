import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * The breach register (Art. 33(5)): incidents with their clock marks, severity assessments,
 * decisions and report versions (append-only), the scopes that find the affected people, the
 * affected set (people by keyed hash, contacts sealed until the incident closes), the prepared
 * notices and one notification row per (incident, person, notice version).
 */
export class Incidents1764000000400 implements MigrationInterface {
  name = "Incidents1764000000400";

  async up(q: QueryRunner): Promise<void> {
    // Rows of the register's history tables are never changed or removed.
    await q.query(`
      CREATE FUNCTION lethe.incident_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
      END $$`);
    await q.query(`CREATE SEQUENCE lethe.incident_number`);
    await q.query(`
      CREATE TABLE lethe.incident (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        reference text NOT NULL UNIQUE,
        status text NOT NULL DEFAULT 'open'
          CHECK (status IN ('open','assessed','authority_notified','subjects_notified','closed','not_a_breach')),
        title text NOT NULL,
        description text NOT NULL,
        kinds text[] NOT NULL CHECK (cardinality(kinds) > 0 AND kinds <@ ARRAY['confidentiality','integrity','availability']),
        detected_at timestamptz NOT NULL,
        aware_at timestamptz NOT NULL,
        occurred_from timestamptz,
        occurred_until timestamptz,
        stores text[] NOT NULL DEFAULT '{}',
        systems text[] NOT NULL DEFAULT '{}',
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        authority_notified_at timestamptz,
        final_at timestamptz,
        final_rationale text,
        affected_subjects integer,
        affected_records bigint,
        fanout_state text NOT NULL DEFAULT 'none' CHECK (fanout_state IN ('none','running','paused','done')),
        fanout_notice_version integer,
        fanout_started_at timestamptz,
        fanout_done_at timestamptz,
        pause_reason text,
        public_notice_advised_at timestamptz,
        public_notice_given_at timestamptz,
        public_notice_where text,
        contacts_wipe_after timestamptz,
        contacts_wiped_at timestamptz,
        CHECK (detected_at <= aware_at)
      )`);
    await q.query(`CREATE INDEX incident_open ON lethe.incident (aware_at) WHERE status NOT IN ('closed','not_a_breach')`);
    await q.query(`CREATE INDEX incident_fanout ON lethe.incident (id) WHERE fanout_state = 'running'`);
    await q.query(`
      CREATE TABLE lethe.incident_clock_mark (
        incident_id uuid NOT NULL REFERENCES lethe.incident(id),
        mark text NOT NULL CHECK (mark IN ('24h_left','6h_left','overdue')),
        reached_at timestamptz NOT NULL DEFAULT now(),
        seconds_left integer NOT NULL,
        PRIMARY KEY (incident_id, mark)
      )`);
    await q.query(`
      CREATE TABLE lethe.incident_assessment (
        id bigserial PRIMARY KEY,
        incident_id uuid NOT NULL REFERENCES lethe.incident(id),
        method text NOT NULL,
        inputs jsonb NOT NULL,
        result jsonb NOT NULL,
        score numeric NOT NULL,
        band text NOT NULL CHECK (band IN ('low','medium','high','very_high')),
        assessed_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX incident_assessment_incident ON lethe.incident_assessment (incident_id, id)`);
    await q.query(`
      CREATE TABLE lethe.incident_decision (
        id bigserial PRIMARY KEY,
        incident_id uuid NOT NULL REFERENCES lethe.incident(id),
        assessment_id bigint NOT NULL REFERENCES lethe.incident_assessment(id),
        record jsonb NOT NULL,
        decided_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX incident_decision_incident ON lethe.incident_decision (incident_id, id)`);
    await q.query(`
      CREATE TABLE lethe.incident_report (
        incident_id uuid NOT NULL REFERENCES lethe.incident(id),
        version integer NOT NULL CHECK (version >= 1),
        kind text NOT NULL CHECK (kind IN ('initial','follow_up','withdrawal')),
        final boolean NOT NULL,
        document jsonb NOT NULL,
        submitted_at timestamptz NOT NULL,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (incident_id, version)
      )`);
    for (const table of ["incident_assessment", "incident_decision", "incident_report"]) {
      await q.query(`
        CREATE TRIGGER ${table}_append_only BEFORE UPDATE OR DELETE ON lethe.${table}
        FOR EACH ROW EXECUTE FUNCTION lethe.incident_history_append_only()`);
    }
    await q.query(`
      CREATE TABLE lethe.incident_scope (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        incident_id uuid NOT NULL REFERENCES lethe.incident(id),
        state text NOT NULL CHECK (state IN ('draft','freezing','frozen','failed')),
        summary text NOT NULL,
        scope_sealed bytea,
        counts jsonb,
        people integer,
        records bigint,
        affected_set_hash text,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        frozen_at timestamptz,
        error_code text,
        error_message text,
        CHECK (state <> 'frozen' OR (affected_set_hash IS NOT NULL AND people IS NOT NULL))
      )`);
    await q.query(`CREATE INDEX incident_scope_incident ON lethe.incident_scope (incident_id, created_at)`);
    await q.query(`CREATE INDEX incident_scope_freezing ON lethe.incident_scope (updated_at) WHERE state = 'freezing'`);
    await q.query(`
      CREATE TABLE lethe.incident_affected (
        incident_id uuid NOT NULL REFERENCES lethe.incident(id),
        subject_hmac text NOT NULL,
        scope_id uuid NOT NULL REFERENCES lethe.incident_scope(id),
        contact bytea,
        PRIMARY KEY (incident_id, subject_hmac)
      )`);
    await q.query(`
      CREATE TABLE lethe.incident_notice (
        incident_id uuid NOT NULL REFERENCES lethe.incident(id),
        version integer NOT NULL CHECK (version >= 1),
        fallback_locale text NOT NULL,
        locales text[] NOT NULL,
        texts jsonb NOT NULL,
        notices jsonb NOT NULL,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (incident_id, version)
      )`);
    await q.query(`
      CREATE TRIGGER incident_notice_append_only BEFORE UPDATE OR DELETE ON lethe.incident_notice
      FOR EACH ROW EXECUTE FUNCTION lethe.incident_history_append_only()`);
    await q.query(`
      CREATE TABLE lethe.notification (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        incident_id uuid NOT NULL,
        subject_hmac text NOT NULL,
        notice_version integer NOT NULL,
        status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued','sending','sent','undeliverable')),
        attempts integer NOT NULL DEFAULT 0,
        claim_token uuid,
        claimed_at timestamptz,
        resent boolean NOT NULL DEFAULT false,
        smtp_code integer,
        smtp_response text,
        error_code text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz,
        UNIQUE (incident_id, subject_hmac, notice_version),
        FOREIGN KEY (incident_id, subject_hmac) REFERENCES lethe.incident_affected (incident_id, subject_hmac),
        FOREIGN KEY (incident_id, notice_version) REFERENCES lethe.incident_notice (incident_id, version)
      )`);
    await q.query(`CREATE INDEX notification_pending ON lethe.notification (incident_id, id) WHERE status IN ('queued','sending')`);
    await q.query(`CREATE INDEX notification_incident_status ON lethe.notification (incident_id, status)`);
    // The register's audit trail: every incident event names its incident in `detail`.
    await q.query(`CREATE INDEX audit_log_incident ON lethe.audit_log ((detail->>'incidentId')) WHERE detail ? 'incidentId'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX lethe.audit_log_incident`);
    for (const t of ["notification", "incident_notice", "incident_affected", "incident_scope", "incident_report", "incident_decision", "incident_assessment"]) {
      await q.query(`DROP TABLE lethe.${t}`);
    }
    await q.query(`DROP TABLE lethe.incident_clock_mark`);
    await q.query(`DROP TABLE lethe.incident`);
    await q.query(`DROP SEQUENCE lethe.incident_number`);
    await q.query(`DROP FUNCTION lethe.incident_history_append_only()`);
  }
}
