import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * One map per deployment (issue 9): each request records the fingerprint of the data map (and of
 * the mapped schemas) it was submitted under; a worker with another fingerprint fails it with
 * `map_mismatch`. Null for requests made before this column existed.
 */
export class MapFingerprint1764000000100 implements MigrationInterface {
  name = "MapFingerprint1764000000100";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE lethe.subject_request ADD COLUMN map_fingerprint text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE lethe.subject_request DROP COLUMN map_fingerprint`);
  }
}
