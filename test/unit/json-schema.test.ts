import { readFileSync } from "node:fs";
import { join } from "node:path";
import { dataMapJsonSchema } from "../../src/datamap/emit-json-schema";

describe("lethe.schema.json", () => {
  it("is the JSON Schema of the data map as the code defines it (run npm run schema:emit after changing the schema)", () => {
    const committed = JSON.parse(readFileSync(join(__dirname, "..", "..", "lethe.schema.json"), "utf8")) as unknown;
    expect(committed).toEqual(dataMapJsonSchema());
  });

  it("describes the store kinds and the retention policies", () => {
    const text = JSON.stringify(dataMapJsonSchema());
    for (const kind of ["postgres", "redis", "files", "webhook"]) expect(text).toContain(`"const":"${kind}"`);
    expect(text).toContain('"retention"');
  });
});
