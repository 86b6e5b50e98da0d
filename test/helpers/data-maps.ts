import { join } from "node:path";
import { REPO_ROOT } from "./child-process";

/** A data map file (JSON) and the environment variable its store URL comes from. */
export interface MapFile {
  path: string;
  urlVar: string;
}

/** The demo shop's data map and the variable its store URL comes from. */
export const SHOP_MAP: MapFile = { path: join(REPO_ROOT, "demo", "lethe.config.json"), urlVar: "SHOP_DATABASE_URL" };

/** The Chinook fixture's data map and the variable its store URL comes from. */
export const CHINOOK_MAP: MapFile = { path: join(REPO_ROOT, "test", "fixtures", "chinook", "lethe.config.json"), urlVar: "CHINOOK_DATABASE_URL" };

/** The trap shop's data map (test/fixtures/traps, issue 9) and the variable its store URL comes from. */
export const TRAPS_MAP: MapFile = { path: join(REPO_ROOT, "test", "fixtures", "traps", "lethe.config.json"), urlVar: "TRAPS_DATABASE_URL" };

/** A data map as read from its JSON file, before validation. */
export type RawDataMap = Record<string, unknown> & { subject: { identities: Record<string, unknown> } };
