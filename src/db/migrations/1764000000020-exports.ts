import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Exports (Art. 15/20) and mail deliveries. An export row records its zip (path relative to
 * LETHE_EXPORT_DIR, size, sha256) and the link's expiry; a delivery row, keyed by what it
 * delivers (`export:<id>`, later `breach:<incident>:<subject>`), makes a retried mail job send once.
 */
export class Exports1764000000020 implements MigrationInterface {
  name = "Exports1764000000020";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE lethe.export (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        request_id uuid NOT NULL UNIQUE REFERENCES lethe.subject_request(id) ON DELETE CASCADE,
        status text NOT NULL CHECK (status IN ('building','ready','expired','failed')),
        path text NOT NULL,
        size_bytes bigint,
        sha256 text,
        entries integer,
        rows bigint,
        tables jsonb,
        single_use boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        ready_at timestamptz,
        expires_at timestamptz,
        downloads integer NOT NULL DEFAULT 0,
        last_downloaded_at timestamptz,
        deleted_at timestamptz,
        CHECK (status <> 'ready' OR (size_bytes IS NOT NULL AND sha256 IS NOT NULL AND expires_at IS NOT NULL))
      )`);
    await q.query(`CREATE INDEX export_purgeable ON lethe.export (expires_at) WHERE deleted_at IS NULL`);
    await q.query(`
      CREATE TABLE lethe.mail_delivery (
        key text PRIMARY KEY,
        kind text NOT NULL,
        request_id uuid REFERENCES lethe.subject_request(id) ON DELETE CASCADE,
        status text NOT NULL CHECK (status IN ('pending','sending','sent','failed')),
        attempts integer NOT NULL DEFAULT 0,
        smtp_code integer,
        error_code text,
        message_id text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz
      )`);
    await q.query(`CREATE INDEX mail_delivery_request ON lethe.mail_delivery (request_id) WHERE request_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE lethe.mail_delivery`);
    await q.query(`DROP TABLE lethe.export`);
  }
}
