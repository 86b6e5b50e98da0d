import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * OpenDSR 2.0 (docs/opendsr.md). `opendsr_request`: requests other controllers sent to Lethe as a
 * processor, by their `subject_request_id`, each tied to the Lethe request it became.
 * `opendsr_call`: requests Lethe sent as a controller to an `opendsr` store, one per request and
 * store, with the processor's last signed answer (no identity in either table).
 */
export class OpenDsr1764000001600 implements MigrationInterface {
  name = "OpenDsr1764000001600";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE lethe.opendsr_request (
        subject_request_id uuid PRIMARY KEY,
        controller_id text NOT NULL,
        request_id uuid REFERENCES lethe.subject_request(id) ON DELETE SET NULL,
        type text NOT NULL CHECK (type IN ('erasure','access','portability')),
        body_sha256 text NOT NULL,
        submitted_at timestamptz NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        expected_at timestamptz NOT NULL,
        callback_urls jsonb NOT NULL DEFAULT '[]',
        subject_found boolean NOT NULL DEFAULT true,
        cancelled_at timestamptz,
        reported_status text,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX opendsr_request_request_idx ON lethe.opendsr_request (request_id)`);
    await q.query(`CREATE INDEX opendsr_request_unreported_idx ON lethe.opendsr_request (updated_at) WHERE reported_status IS DISTINCT FROM 'final'`);
    await q.query(`
      CREATE TABLE lethe.opendsr_call (
        request_id uuid NOT NULL REFERENCES lethe.subject_request(id) ON DELETE CASCADE,
        store text NOT NULL,
        subject_request_id uuid NOT NULL UNIQUE,
        status text NOT NULL CHECK (status IN ('new','pending','in_progress','completed','cancelled','failed')),
        expected_at timestamptz,
        controller_id text,
        answer jsonb,
        answer_signature text,
        first_attempt_at timestamptz NOT NULL DEFAULT now(),
        deadline_at timestamptz NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        last_http_status integer,
        error_code text,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (request_id, store)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE lethe.opendsr_call`);
    await q.query(`DROP TABLE lethe.opendsr_request`);
  }
}
