import { readFileSync } from "node:fs";
import { Client } from "pg";
import { applyShopSchema } from "../../demo/seed";
import { parseDataMap } from "../../src/datamap/load";
import { checkStore } from "../../src/stores/postgres/check";
import { introspect } from "../../src/stores/postgres/introspect";
import type { PostgresStoreSpec } from "../../src/stores/postgres/schema";
import { createScratchDb, type ScratchDb } from "../helpers/db";
import { SHOP_MAP, type RawDataMap } from "../helpers/data-maps";

/** `lethe check` fails closed on the rights' declarations: copies and erased fields outside directly linked tables, erased fields no mask fits. */
describe("lethe check: the rights' declarations", () => {
  let db: ScratchDb;

  beforeAll(async () => {
    db = await createScratchDb("lethe_rights_check");
    await applyShopSchema(db.url);
  });

  afterAll(async () => {
    await db?.drop();
  });

  async function problems(
    edit: (raw: RawDataMap & { stores: { shop: { tables: Record<string, { fields: Record<string, Record<string, unknown>> }> } } }) => void,
  ) {
    const raw = JSON.parse(readFileSync(SHOP_MAP.path, "utf8")) as Parameters<typeof edit>[0];
    edit(raw);
    const map = parseDataMap(raw, "(test)", { SHOP_DATABASE_URL: db.url });
    const c = new Client({ connectionString: db.url });
    await c.connect();
    try {
      const schema = await introspect(c, "public");
      return checkStore(map, "shop", map.stores.shop as PostgresStoreSpec, schema)
        .filter((p) => p.severity !== "warning")
        .map((p) => [p.key, p.rule]);
    } finally {
      await c.end();
    }
  }

  it("accepts the demo map (orders.billing_email mirrors customers.email; orders link to customers)", async () => {
    expect(await problems(() => undefined)).toEqual([]);
  });

  it("refuses a copy in a table without a direct link to the subject table, and an erased field no mask fits", async () => {
    const found = await problems((raw) => {
      raw.stores.shop.tables.order_items!.fields.sku = { category: "other", mask: "token", mirrors: "customers.email" };
      (raw as Record<string, unknown>).purposes = [{ name: "newsletter", basis: "6(1)(a)", erasedOnWithdrawal: ["marketing_opt_in", "order_items.sku"] }];
    });
    expect(found).toEqual(
      expect.arrayContaining([
        ["stores.shop.tables.order_items.fields.sku.mirrors", "rights-copy-unlinked"],
        ["purposes.0.erasedOnWithdrawal.0", "mask-misfit"],
        ["purposes.0.erasedOnWithdrawal.1", "rights-copy-unlinked"],
      ]),
    );
  });
});
