import type { MigrationInterface, QueryRunner } from "typeorm";

/** A request waiting for a legal hold names the hold, so releasing it resumes the request. */
export class RequestHolds1764000000002 implements MigrationInterface {
  name = "RequestHolds1764000000002";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE lethe.subject_request ADD COLUMN hold_id uuid REFERENCES lethe.legal_hold(id)`);
    await q.query(`CREATE INDEX subject_request_hold ON lethe.subject_request (hold_id) WHERE hold_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE lethe.subject_request DROP COLUMN hold_id`);
  }
}
