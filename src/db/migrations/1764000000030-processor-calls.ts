import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Calls to processors (webhook stores): one row per request and store, so a retry re-sends with
 * the same idempotency key, a deadline runs from the first attempt, and a callback is single use.
 */
export class ProcessorCalls1764000000030 implements MigrationInterface {
  name = "ProcessorCalls1764000000030";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE lethe.processor_call (
        request_id uuid NOT NULL REFERENCES lethe.subject_request(id) ON DELETE CASCADE,
        store text NOT NULL,
        idempotency_key text NOT NULL UNIQUE,
        status text NOT NULL CHECK (status IN ('sent','accepted','done','failed')),
        callback_token_hash text NOT NULL UNIQUE,
        status_url bytea,
        first_attempt_at timestamptz NOT NULL DEFAULT now(),
        deadline_at timestamptz NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        last_http_status integer,
        error_code text,
        failure_reason text,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (request_id, store),
        CHECK (status_url IS NULL OR status IN ('sent','accepted'))
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE lethe.processor_call`);
  }
}
