import { DataMapError, parseDataMap } from "../../src/datamap/load";
import type { DataMap } from "../../src/datamap/schema";
import { checkWebhookStore } from "../../src/stores/webhook/check-webhook";
import { durationMs } from "../../src/stores/webhook/duration";

const SECRET = "0123456789abcdef0123";

function raw(crm: Record<string, unknown>, shopUrl = "postgres://postgres@127.0.0.1:1/none"): Record<string, unknown> {
  return {
    version: 1,
    subject: { store: "shop", table: "customers", key: "id", identities: { email: "email" } },
    stores: {
      shop: { kind: "postgres", url: shopUrl, tables: { customers: { action: "delete", fields: { email: { category: "contact" } } } } },
      crm: { kind: "webhook", url: "https://crm.example/gdpr", secret: SECRET, identities: ["email"], ...crm },
    },
  };
}

function webhookProblems(crm: Record<string, unknown>): Array<{ key: string; rule: string }> {
  const map: DataMap = parseDataMap(raw(crm));
  const store = map.stores.crm!;
  if (store.kind !== "webhook") throw new Error("crm is not a webhook store");
  return checkWebhookStore(map, "crm", store).map(({ key, rule }) => ({ key, rule }));
}

describe("webhook store data map", () => {
  it("fills defaults and interpolates ${VAR} in url and secret", () => {
    const map = parseDataMap(raw({ url: "https://${CRM_HOST}/gdpr", secret: "${CRM_WEBHOOK_SECRET}" }), "(test)", {
      CRM_HOST: "crm.example",
      CRM_WEBHOOK_SECRET: SECRET,
    });
    expect(map.stores.crm).toEqual({
      kind: "webhook",
      url: "https://crm.example/gdpr",
      secret: SECRET,
      identities: ["email"],
      statusUrl: false,
      deadline: "P3D",
      timeoutMs: 10_000,
      pollIntervalMs: 5000,
      fields: [],
    });
  });

  it("names a missing secret variable", () => {
    let err: unknown;
    try {
      parseDataMap(raw({ secret: "${CRM_WEBHOOK_SECRET}" }), "(test)", {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DataMapError);
    expect((err as DataMapError).problems).toEqual(["stores.crm.secret: environment variable CRM_WEBHOOK_SECRET is not set"]);
  });

  it("refuses calendar deadlines, empty identity lists and unknown keys", () => {
    const problems = (crm: Record<string, unknown>) => {
      try {
        parseDataMap(raw(crm));
        return [];
      } catch (e) {
        return (e as DataMapError).problems;
      }
    };
    expect(problems({ deadline: "P1M" })).toEqual([expect.stringMatching(/^stores\.crm\.deadline: must be an ISO 8601 duration/)]);
    expect(problems({ deadline: "PT0S" })).toEqual(["stores.crm.deadline: must be longer than zero"]);
    expect(problems({ identities: [] })).toEqual([expect.stringMatching(/^stores\.crm\.identities: list at least one identity/)]);
    expect(problems({ identities: ["email", "email"] })).toEqual(["stores.crm.identities: an identity is listed twice"]);
    expect(problems({ header: "x" })).toEqual([expect.stringContaining("header")]);
  });

  it("parses ISO 8601 durations of exact length", () => {
    expect(durationMs("P3D")).toBe(3 * 86_400_000);
    expect(durationMs("P1W")).toBe(7 * 86_400_000);
    expect(durationMs("P1DT2H30M")).toBe(86_400_000 + 2 * 3_600_000 + 30 * 60_000);
    expect(durationMs("PT0.5S")).toBe(500);
    for (const bad of ["P", "PT", "P1M", "P1Y", "3D", "P1DT", "pt1s"]) expect(durationMs(bad)).toBeNull();
  });
});

describe("lethe check: webhook rules", () => {
  it("accepts https anywhere and http on localhost only", () => {
    expect(webhookProblems({})).toEqual([]);
    expect(webhookProblems({ url: "http://127.0.0.1:8081/gdpr" })).toEqual([]);
    expect(webhookProblems({ url: "http://localhost/gdpr" })).toEqual([]);
    expect(webhookProblems({ url: "http://crm.example/gdpr" })).toEqual([{ key: "stores.crm.url", rule: "url-invalid" }]);
    expect(webhookProblems({ url: "ftp://crm.example/gdpr" })).toEqual([{ key: "stores.crm.url", rule: "url-invalid" }]);
    expect(webhookProblems({ url: "crm.example/gdpr" })).toEqual([{ key: "stores.crm.url", rule: "url-invalid" }]);
  });

  it("refuses a missing or short secret without echoing it", () => {
    expect(webhookProblems({ secret: "" })).toEqual([{ key: "stores.crm.secret", rule: "secret-missing" }]);
    expect(webhookProblems({ secret: "   " })).toEqual([{ key: "stores.crm.secret", rule: "secret-missing" }]);
    expect(webhookProblems({ secret: "fifteen-chars15" })).toEqual([{ key: "stores.crm.secret", rule: "secret-too-short" }]);
    const map = parseDataMap(raw({ secret: "hunter2-secret" }));
    const store = map.stores.crm!;
    if (store.kind !== "webhook") throw new Error("crm is not a webhook store");
    const [problem] = checkWebhookStore(map, "crm", store);
    expect(problem!.message).toContain("14 characters");
    expect(problem!.message).not.toContain("hunter2");
  });

  it("refuses identities the subject does not have; id is always allowed", () => {
    expect(webhookProblems({ identities: ["id", "email"] })).toEqual([]);
    expect(webhookProblems({ identities: ["email", "phone"] })).toEqual([{ key: "stores.crm.identities.1", rule: "unknown-identity" }]);
  });
});
