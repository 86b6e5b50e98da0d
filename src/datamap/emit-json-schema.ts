import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { z } from "zod";
import { DATA_MAP_SCHEMA } from "./schema";

/** JSON Schema of the data map, for editors (`"$schema": "./lethe.schema.json"`). */
export function dataMapJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(DATA_MAP_SCHEMA, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
}

if (require.main === module) {
  const out = resolve(process.argv[2] ?? "lethe.schema.json");
  writeFileSync(out, `${JSON.stringify(dataMapJsonSchema(), null, 2)}\n`);
  process.stdout.write(`wrote ${out}\n`);
}
