import { readFileSync } from "node:fs";
import { join } from "node:path";

/** Lethe's version, from its package.json (`src/` and `dist/src/` both sit two levels below it, or one). */
export const LETHE_VERSION: string = (() => {
  for (const dir of [join(__dirname, ".."), join(__dirname, "..", "..")]) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: unknown; version?: unknown };
      if (pkg.name === "lethe" && typeof pkg.version === "string") return pkg.version;
    } catch {
      // not here; try the next candidate
    }
  }
  return "unknown";
})();
