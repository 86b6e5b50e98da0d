import { Client } from "pg";
import { StartupError, whereOf } from "./connect-at-start";
import { describeError } from "./error-text";

/** Quotes an identifier for SQL (`"name"`, inner quotes doubled). */
const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/**
 * Creates the database `url` names when it does not exist, connecting to the server's `postgres`
 * database with the same credentials. Returns the name it created, or null when it existed. When
 * it cannot create it, throws a one-line {@link StartupError} saying exactly what to run.
 */
export async function ensureDatabase(url: string): Promise<string | null> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ""));
  if (!name) return null;
  const probe = new Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  probe.on("error", () => undefined);
  try {
    await probe.connect();
    return null;
  } catch (err) {
    if ((err as { code?: unknown }).code !== "3D000") return null; // initializeAtStart reports the rest, naming DATABASE_URL
  } finally {
    await probe.end().catch(() => undefined);
  }
  const admin = new URL(url);
  admin.pathname = "/postgres";
  const client = new Client({ connectionString: admin.toString(), connectionTimeoutMillis: 10_000 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.query(`CREATE DATABASE ${quoteIdent(name)}`);
    return name;
  } catch (err) {
    if ((err as { code?: unknown }).code === "42P04") return null; // created meanwhile by someone else
    const user = target.username ? ` -U ${decodeURIComponent(target.username)}` : "";
    throw new StartupError(
      `the database at DATABASE_URL (${whereOf(url)}) does not exist and could not be created (${describeError(err)}): ` +
        `create it with \`createdb -h ${target.hostname} -p ${target.port || "5432"}${user} ${name}\` (or CREATE DATABASE ${quoteIdent(name)}), then run \`lethe migrate\` again`,
      { cause: err },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}
