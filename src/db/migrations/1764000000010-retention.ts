import type { MigrationInterface, QueryRunner } from "typeorm";

/** Retention runs (sweeps): checkpoint and counts per run; one queued or running run per policy. */
export class Retention1764000000010 implements MigrationInterface {
  name = "Retention1764000000010";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE lethe.retention_run (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        policy text NOT NULL,
        store text NOT NULL,
        table_name text NOT NULL,
        action text NOT NULL CHECK (action IN ('anonymize','delete')),
        dry_run boolean NOT NULL DEFAULT false,
        status text NOT NULL CHECK (status IN ('queued','running','completed','failed')),
        trigger text NOT NULL CHECK (trigger IN ('schedule','manual')),
        requested_by text NOT NULL,
        job_id text NOT NULL UNIQUE,
        cutoff timestamptz NOT NULL,
        batch_size integer NOT NULL CHECK (batch_size > 0),
        checkpoint jsonb,
        pending jsonb,
        rows_matched bigint NOT NULL DEFAULT 0,
        rows_changed bigint NOT NULL DEFAULT 0,
        rows_held bigint NOT NULL DEFAULT 0,
        cascaded jsonb NOT NULL DEFAULT '{}'::jsonb,
        batches integer NOT NULL DEFAULT 0,
        max_batch_ms integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now(),
        error_code text,
        error_message text
      )`);
    // Two runs of one policy never overlap: a second queued/running run is refused here.
    await q.query(`CREATE UNIQUE INDEX retention_run_one_active ON lethe.retention_run (policy) WHERE status IN ('queued','running')`);
    await q.query(`CREATE INDEX retention_run_policy ON lethe.retention_run (policy, created_at DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE lethe.retention_run`);
  }
}
