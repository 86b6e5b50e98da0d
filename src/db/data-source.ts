import { DataSource } from "typeorm";
import { AuditEntryEntity } from "./entities/audit-entry";
import { LegalHoldEntity } from "./entities/legal-hold";
import { RequestStepEntity } from "./entities/request-step";
import { RequestStoreEntity } from "./entities/request-store";
import { SubjectRequestEntity } from "./entities/subject-request";
import { Initial1764000000000 } from "./migrations/1764000000000-initial";
import { LegalHolds1764000000001 } from "./migrations/1764000000001-legal-holds";

/** Every entity of Lethe's own schema. */
export const ENTITIES = [SubjectRequestEntity, RequestStoreEntity, RequestStepEntity, AuditEntryEntity, LegalHoldEntity];

/** Every migration, in order. New migrations are appended here. */
export const MIGRATIONS = [Initial1764000000000, LegalHolds1764000000001];

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
