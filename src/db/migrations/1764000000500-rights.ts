import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * The other data-subject rights (issue 13): rectification, restriction, objection and consent
 * withdrawal as request types; what each right records (`rights_request`, `rights_store`,
 * `restriction`, `suppression`, the append-only `consent_event` ledger); one event per request,
 * recipient and action (`recipient_event`, Art. 19); notices to the person (`rights_notice`) and
 * the Art. 12(3) extension (`request_extension`); and the view of restricted subject keys
 * applications join (`restricted_subject_keys`).
 */
export class Rights1764000000500 implements MigrationInterface {
  name = "Rights1764000000500";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE lethe.subject_request DROP CONSTRAINT IF EXISTS subject_request_type_check`);
    await q.query(`ALTER TABLE lethe.subject_request ADD CONSTRAINT subject_request_type_check
      CHECK (type IN ('erasure','export','rectification','restriction','objection','consent-withdrawal'))`);
    await q.query(`ALTER TABLE lethe.subject_request DROP CONSTRAINT IF EXISTS subject_request_status_check`);
    await q.query(`ALTER TABLE lethe.subject_request ADD CONSTRAINT subject_request_status_check
      CHECK (status IN ('queued','running','completed','failed','held','awaiting_decision','refused'))`);

    await q.query(`
      CREATE TABLE lethe.restriction (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        request_id uuid NOT NULL REFERENCES lethe.subject_request(id) ON DELETE CASCADE,
        subject_hash text NOT NULL,
        subject_key text,
        subject bytea,
        ground text NOT NULL CHECK (ground IN ('a','b','c','d')),
        purpose text,
        status text NOT NULL CHECK (status IN ('active','lifting','lifted')),
        opened_by text NOT NULL,
        opened_at timestamptz NOT NULL DEFAULT now(),
        lift_requested_by text,
        lift_requested_at timestamptz,
        lift_reason text,
        lift_notice_id uuid,
        notice_skipped_reason text,
        lifted_at timestamptz,
        CHECK ((status = 'lifted') = (lifted_at IS NOT NULL)),
        CHECK (status = 'lifted' OR subject_key IS NOT NULL),
        CHECK (status = 'active' OR lift_reason IS NOT NULL)
      )`);
    await q.query(`CREATE INDEX restriction_in_force ON lethe.restriction (subject_hash) WHERE status <> 'lifted'`);
    await q.query(`CREATE INDEX restriction_request ON lethe.restriction (request_id)`);
    // What applications join: the keys of subjects whose processing is restricted now.
    await q.query(`
      CREATE VIEW lethe.restricted_subject_keys AS
        SELECT subject_key, ground, purpose, opened_at AS since FROM lethe.restriction WHERE status <> 'lifted'`);

    await q.query(`
      CREATE TABLE lethe.rights_request (
        request_id uuid PRIMARY KEY REFERENCES lethe.subject_request(id) ON DELETE CASCADE,
        fields text[] NOT NULL DEFAULT '{}',
        contested boolean NOT NULL DEFAULT false,
        ground text,
        purpose text,
        source text,
        needs_decision text CHECK (needs_decision IN ('approval','objection')),
        decision text CHECK (decision IN ('approved','rejected','upheld')),
        decision_reason text,
        decided_by text,
        decided_at timestamptz,
        stores_done boolean NOT NULL DEFAULT false,
        restriction_id uuid REFERENCES lethe.restriction(id)
      )`);

    await q.query(`
      CREATE TABLE lethe.rights_store (
        request_id uuid NOT NULL REFERENCES lethe.subject_request(id) ON DELETE CASCADE,
        store text NOT NULL,
        status text NOT NULL CHECK (status IN ('prepared','done','not_applicable')),
        xid bigint,
        steps jsonb NOT NULL DEFAULT '[]'::jsonb,
        note text,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (request_id, store)
      )`);

    await q.query(`
      CREATE TABLE lethe.suppression (
        subject_hash text NOT NULL,
        purpose text NOT NULL,
        request_id uuid REFERENCES lethe.subject_request(id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (subject_hash, purpose)
      )`);

    await q.query(`
      CREATE TABLE lethe.consent_event (
        id bigserial PRIMARY KEY,
        subject_hash text NOT NULL,
        purpose text NOT NULL,
        event text NOT NULL CHECK (event IN ('granted','withdrawn')),
        source text NOT NULL,
        at timestamptz NOT NULL DEFAULT now(),
        request_id uuid,
        recorded_by text NOT NULL
      )`);
    await q.query(`CREATE INDEX consent_event_subject ON lethe.consent_event (subject_hash, purpose, id)`);
    await q.query(`
      CREATE FUNCTION lethe.consent_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'lethe.consent_event is append-only';
      END $$`);
    await q.query(`
      CREATE TRIGGER consent_event_append_only BEFORE UPDATE OR DELETE ON lethe.consent_event
      FOR EACH ROW EXECUTE FUNCTION lethe.consent_event_append_only()`);
    await q.query(`
      CREATE TRIGGER consent_event_no_truncate BEFORE TRUNCATE ON lethe.consent_event
      FOR EACH STATEMENT EXECUTE FUNCTION lethe.consent_event_append_only()`);

    await q.query(`
      CREATE TABLE lethe.recipient_event (
        request_id uuid NOT NULL REFERENCES lethe.subject_request(id) ON DELETE CASCADE,
        recipient text NOT NULL,
        action text NOT NULL CHECK (action IN ('erase','rectify','restrict','lift-restriction','object','withdraw-consent')),
        channel text NOT NULL CHECK (channel IN ('webhook','manual')),
        idempotency_key text NOT NULL UNIQUE,
        status text NOT NULL CHECK (status IN ('pending','executed','accepted','skipped','unsupported','failed','open','done','impossible')),
        payload bytea,
        attempts integer NOT NULL DEFAULT 0,
        last_http_status integer,
        error_code text,
        reason text,
        decided_by text,
        deadline_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        ended_at timestamptz,
        PRIMARY KEY (request_id, recipient, action),
        CHECK (payload IS NULL OR status IN ('pending','failed')),
        CHECK (status <> 'impossible' OR length(btrim(coalesce(reason, ''))) > 0)
      )`);
    await q.query(`CREATE INDEX recipient_event_pending ON lethe.recipient_event (updated_at) WHERE status = 'pending'`);

    await q.query(`
      CREATE TABLE lethe.rights_notice (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        request_id uuid NOT NULL REFERENCES lethe.subject_request(id) ON DELETE CASCADE,
        kind text NOT NULL CHECK (kind IN ('extension','refusal','restriction-lifted','objection-decision')),
        restriction_id uuid REFERENCES lethe.restriction(id),
        subject bytea,
        vars jsonb NOT NULL DEFAULT '{}'::jsonb,
        reason text,
        status text NOT NULL CHECK (status IN ('pending','sent','failed')),
        error_code text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz,
        CHECK (subject IS NULL OR status = 'pending')
      )`);
    await q.query(`CREATE INDEX rights_notice_pending ON lethe.rights_notice (created_at) WHERE status = 'pending'`);
    await q.query(`ALTER TABLE lethe.restriction ADD FOREIGN KEY (lift_notice_id) REFERENCES lethe.rights_notice(id)`);

    await q.query(`
      CREATE TABLE lethe.request_extension (
        request_id uuid PRIMARY KEY REFERENCES lethe.subject_request(id) ON DELETE CASCADE,
        months integer NOT NULL CHECK (months IN (1, 2)),
        reason text NOT NULL CHECK (length(btrim(reason)) > 0),
        original_due_at timestamptz NOT NULL,
        extended_by text NOT NULL,
        extended_at timestamptz NOT NULL DEFAULT now(),
        notice_id uuid NOT NULL REFERENCES lethe.rights_notice(id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE lethe.request_extension`);
    await q.query(`ALTER TABLE lethe.restriction DROP COLUMN lift_notice_id`);
    await q.query(`DROP TABLE lethe.rights_notice`);
    await q.query(`DROP TABLE lethe.recipient_event`);
    await q.query(`DROP TABLE lethe.consent_event`);
    await q.query(`DROP FUNCTION lethe.consent_event_append_only()`);
    await q.query(`DROP TABLE lethe.suppression`);
    await q.query(`DROP TABLE lethe.rights_store`);
    await q.query(`DROP TABLE lethe.rights_request`);
    await q.query(`DROP VIEW lethe.restricted_subject_keys`);
    await q.query(`DROP TABLE lethe.restriction`);
    await q.query(`DELETE FROM lethe.subject_request WHERE type NOT IN ('erasure','export') OR status IN ('awaiting_decision','refused')`);
    await q.query(`ALTER TABLE lethe.subject_request DROP CONSTRAINT subject_request_status_check`);
    await q.query(
      `ALTER TABLE lethe.subject_request ADD CONSTRAINT subject_request_status_check CHECK (status IN ('queued','running','completed','failed','held'))`,
    );
    await q.query(`ALTER TABLE lethe.subject_request DROP CONSTRAINT subject_request_type_check`);
    await q.query(`ALTER TABLE lethe.subject_request ADD CONSTRAINT subject_request_type_check CHECK (type IN ('erasure','export'))`);
  }
}
