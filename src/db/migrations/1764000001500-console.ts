import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * The compliance console's lists (issue 14): requests by due date (keyset pages on `(due_at, id)`),
 * retention runs and legal holds newest first; a request's audit trail (its timeline).
 */
export class Console1764000001500 implements MigrationInterface {
  name = "Console1764000001500";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX subject_request_due ON lethe.subject_request (due_at, id)`);
    await q.query(`CREATE INDEX retention_run_created ON lethe.retention_run (created_at DESC, id DESC)`);
    await q.query(`CREATE INDEX legal_hold_created ON lethe.legal_hold (created_at DESC, id DESC)`);
    await q.query(`CREATE INDEX audit_log_request ON lethe.audit_log (request_id) WHERE request_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX lethe.audit_log_request`);
    await q.query(`DROP INDEX lethe.legal_hold_created`);
    await q.query(`DROP INDEX lethe.retention_run_created`);
    await q.query(`DROP INDEX lethe.subject_request_due`);
  }
}
