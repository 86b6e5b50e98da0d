import { loadChinook, queryRows } from "../helpers/db";
import { CHINOOK_MAP, type RawDataMap } from "../helpers/data-maps";
import { createExportHarness, type ExportHarness } from "../exports/support";

/**
 * Issue 9, item 8: export mail goes to `subject.contact.email`, which needs no unique index
 * (Chinook's customer.email has none, so it cannot be an identity): no schema change for mail.
 */
describe("export mail to the subject's contact", () => {
  let x: ExportHarness;

  beforeAll(async () => {
    x = await createExportHarness({
      map: CHINOOK_MAP,
      prepare: (url) => loadChinook(url),
      editMap: (raw: RawDataMap) => {
        (raw.subject as Record<string, unknown>).contact = { email: "email", country: "country" };
      },
    });
    await x.h.startWorker({ queues: ["erasure", "maintenance", "export", "mail"] });
  });

  afterAll(async () => {
    await x?.cleanup();
  });

  it("mails the link to the customer's email column, with no identity and no unique index on it", async () => {
    expect(x.h.dataMap.subject.identities).toEqual({});
    const [customer] = await queryRows<{ email: string }>(x.h.appDb.url, `SELECT email FROM customer WHERE customer_id = 7`);
    const unique = await queryRows(
      x.h.appDb.url,
      `SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE c.relname = 'customer' AND i.indisunique AND NOT i.indisprimary`,
    );
    expect(unique).toEqual([]);

    const request = await x.submitExport({ id: "7" });
    const view = await x.h.waitForStatus(request.id, ["completed", "failed"], 60_000);
    expect(view.error).toBeNull();
    expect(view.status).toBe("completed");
    const [mail] = await x.smtp.waitForMessages(1);
    expect(mail!.to).toEqual([customer!.email]);
  });
});
