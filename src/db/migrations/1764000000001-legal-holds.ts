import type { MigrationInterface, QueryRunner } from "typeorm";

/** Legal holds (Art. 17(3)(e)): a held subject is neither erased nor swept until the hold ends. */
export class LegalHolds1764000000001 implements MigrationInterface {
  name = "LegalHolds1764000000001";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE lethe.legal_hold (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        subject_hash text NOT NULL,
        ground text NOT NULL,
        until timestamptz,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        released_at timestamptz
      )`);
    await q.query(`CREATE INDEX legal_hold_active ON lethe.legal_hold (subject_hash) WHERE released_at IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE lethe.legal_hold`);
  }
}
