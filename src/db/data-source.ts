import { DataSource } from "typeorm";
import { AuditEntryEntity } from "./entities/audit-entry";
import { ExportEntity } from "./entities/export";
import { LegalHoldEntity } from "./entities/legal-hold";
import { MailDeliveryEntity } from "./entities/mail-delivery";
import { RetentionRunEntity } from "./entities/retention-run";
import { RequestStepEntity } from "./entities/request-step";
import { RequestStoreEntity } from "./entities/request-store";
import { SubjectRequestEntity } from "./entities/subject-request";
import { Initial1764000000000 } from "./migrations/1764000000000-initial";
import { LegalHolds1764000000001 } from "./migrations/1764000000001-legal-holds";
import { RequestHolds1764000000002 } from "./migrations/1764000000002-request-holds";
import { Retention1764000000010 } from "./migrations/1764000000010-retention";
import { Exports1764000000020 } from "./migrations/1764000000020-exports";
import { ProcessorCalls1764000000030 } from "./migrations/1764000000030-processor-calls";
import { MapFingerprint1764000000100 } from "./migrations/1764000000100-map-fingerprint";
import { Incidents1764000000400 } from "./migrations/1764000000400-incidents";
import { Rights1764000000500 } from "./migrations/1764000000500-rights";
import { Console1764000001500 } from "./migrations/1764000001500-console";
import { OpenDsr1764000001600 } from "./migrations/1764000001600-opendsr";

/*
 * TypeORM is used here for the DataSource (the connection pool of Lethe's own database), the
 * migrations, and the entity mappings the table owners' few repository reads use. Every SQL
 * statement on Lethe's tables lives in its table's owner under `db/tables/`.
 */

/** Every entity of Lethe's own schema. */
export const ENTITIES = [
  SubjectRequestEntity,
  RequestStoreEntity,
  RequestStepEntity,
  AuditEntryEntity,
  LegalHoldEntity,
  ExportEntity,
  MailDeliveryEntity,
  RetentionRunEntity,
];

/** Every migration, in order. New migrations are appended here. */
export const MIGRATIONS = [
  Initial1764000000000,
  LegalHolds1764000000001,
  RequestHolds1764000000002,
  Retention1764000000010,
  Exports1764000000020,
  ProcessorCalls1764000000030,
  MapFingerprint1764000000100,
  Incidents1764000000400,
  Rights1764000000500,
  Console1764000001500,
  OpenDsr1764000001600,
];

/** Builds (does not connect) the DataSource for Lethe's own database. Never `synchronize`. */
export function createDataSource(databaseUrl: string, options: { poolSize?: number } = {}): DataSource {
  return new DataSource({
    type: "postgres",
    url: databaseUrl,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: "lethe_migrations",
    synchronize: false,
    logging: false,
    extra: { max: options.poolSize ?? 10 },
  });
}

/** Raised by {@link assertMigrated} when `lethe migrate` has not been run. */
export class NotMigratedError extends Error {
  override readonly name = "NotMigratedError";
}

/** Refuses to go on when migrations are pending: `api` and `worker` call this at start-up. */
export async function assertMigrated(ds: DataSource): Promise<void> {
  if (await ds.showMigrations()) {
    throw new NotMigratedError("Lethe's database has pending migrations: run `lethe migrate` first (DATABASE_URL)");
  }
}
