import { checkDataMap, CHECK_RULES } from "../../src/datamap/check";
import { parseDataMap } from "../../src/datamap/load";
import { createScratchDb, runSql, type ScratchDb } from "../helpers/db";

/** A live shop database plus the webhook store `crm` (its pure rules: test/unit/webhook-store-map.test.ts). */
function raw(crm: Record<string, unknown>, shopUrl: string): Record<string, unknown> {
  return {
    version: 1,
    subject: { store: "shop", table: "customers", key: "id", identities: { email: "email" } },
    stores: {
      shop: { kind: "postgres", url: shopUrl, tables: { customers: { action: "delete", fields: { email: { category: "contact" } } } } },
      crm: { kind: "webhook", url: "https://crm.example/gdpr", secret: "0123456789abcdef0123", identities: ["email"], ...crm },
    },
  };
}

describe("lethe check: webhook rules", () => {
  describe("checkDataMap", () => {
    let db: ScratchDb;
    beforeAll(async () => {
      db = await createScratchDb("lethe_whchk");
      await runSql(db.url, `CREATE TABLE customers (id int PRIMARY KEY, email text UNIQUE)`);
    });
    afterAll(async () => {
      await db?.drop();
    });

    it("lists webhook problems among the others, with the rule ids it publishes", async () => {
      for (const rule of ["secret-missing", "secret-too-short", "url-invalid", "unknown-identity"]) expect(CHECK_RULES).toContain(rule);
      expect(await checkDataMap(parseDataMap(raw({}, db.url)))).toEqual([]);
      const problems = await checkDataMap(parseDataMap(raw({ url: "http://crm.example/gdpr", secret: "short", identities: ["phone"] }, db.url)));
      expect(problems.map((p) => `${p.key} ${p.rule}`).sort()).toEqual([
        "stores.crm.identities.0 unknown-identity",
        "stores.crm.secret secret-too-short",
        "stores.crm.url url-invalid",
      ]);
    });
  });
});
