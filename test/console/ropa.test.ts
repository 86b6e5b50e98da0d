import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseDataMap } from "../../src/datamap/load";
import { checkRegister } from "../../src/ropa/check";
import { buildRegister } from "../../src/ropa/register";
import { renderRegister } from "../../src/ropa/render";
import { bearer, useMigratedApi } from "../http/harness";
import { CONSOLE_ENV, CONSOLE_KEYS, login } from "./support";

/** A map with the register's declarations; `drift` adds one of each kind of drift. */
function rawMap(drift: boolean): Record<string, unknown> {
  return {
    version: 1,
    controller: { name: "Shop GmbH", contact: "privacy@shop.example", dpo: "dpo@shop.example", supervisoryAuthority: "BfDI" },
    subjectCategories: ["customers"],
    securityMeasures: ["Disk encryption on every database host"],
    purposes: [
      { name: "orders", basis: "6(1)(b)", legalBasis: "performance of the sales contract" },
      { name: "newsletter", basis: "6(1)(a)", processors: ["mailer"] },
    ],
    recipients: [
      {
        name: "Mailer Inc.",
        purpose: "newsletter",
        store: "mailer",
        ...(drift ? {} : { country: "United States" }),
        thirdCountry: "United States",
        ...(drift ? {} : { safeguards: "standard contractual clauses" }),
      },
    ],
    subject: { store: "shop", table: "customers", key: "id", identities: { email: "email" } },
    stores: {
      shop: {
        kind: "postgres",
        url: "postgres://unused",
        tables: {
          customers: { action: "delete", purpose: "orders", fields: { email: { category: "contact" }, name: { category: "identity" } } },
          invoices: {
            action: "keep",
            ground: "tax records, 10 years",
            retention: "P10Y",
            purpose: drift ? undefined : "orders",
            fields: { billing_name: { category: "identity", retain: true } },
          },
          ...(drift ? { notes: { action: "delete", retention: "P1Y", purpose: "orders", fields: { text: { category: "content" } } } } : {}),
        },
      },
      mailer: { kind: "webhook", url: "https://mailer.example/erase", secret: "s3cret-s3cret-s3cret", identities: ["email"], purpose: "newsletter" },
    },
    retention: [
      {
        name: "old-invoices",
        store: "shop",
        table: "invoices",
        age: { column: "issued_at", olderThan: "P10Y" },
        action: "delete",
        schedule: { cron: "0 3 * * *" },
        purpose: "orders",
        legalBasis: "Art. 6(1)(c), HGB §257",
      },
    ],
  };
}

describe("the register of processing (Art. 30)", () => {
  it("is generated from the map and the enforced policies, in every format", () => {
    const map = parseDataMap(rawMap(false));
    expect(checkRegister(map)).toEqual([]);
    const policies = [
      {
        name: "old-invoices",
        store: "shop",
        table: "invoices",
        action: "delete" as const,
        age: "issued_at",
        olderThan: "P10Y",
        before: null,
        purpose: "orders",
        legalBasis: "Art. 6(1)(c), HGB §257",
        schedule: { cron: "0 3 * * *", tz: "UTC" },
        nextRunAt: null,
        lastRun: null,
        failures: 0,
      },
    ];
    const r = buildRegister(map, policies, { exportTtlHours: 72, failedIdentitiesTtlHours: 168 }, new Date("2026-12-01T00:00:00Z"));
    expect(r.controller).toEqual({ name: "Shop GmbH", contact: "privacy@shop.example", dpo: "dpo@shop.example", supervisoryAuthority: "BfDI" });
    expect(r.purposes.map((p) => [p.name, p.lawfulBasis, p.categoriesOfData])).toEqual([
      ["orders", "Art. 6(1)(b) — performance of the sales contract", ["contact", "identity"]],
      ["newsletter", "Art. 6(1)(a)", []],
    ]);
    expect(r.recipients).toEqual([
      {
        name: "Mailer Inc.",
        purpose: "newsletter",
        processorStore: "mailer",
        country: "United States",
        thirdCountry: "United States",
        safeguards: "standard contractual clauses",
      },
    ]);
    expect(r.timeLimits).toEqual([expect.objectContaining({ policy: "old-invoices", limit: "issued_at older than P10Y", lastRun: null })]);
    expect(r.securityMeasures).toContain("Disk encryption on every database host");
    expect(r.lethe.map((l) => l.activity)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^Audit log/), expect.stringMatching(/^Access and portability exports/)]),
    );

    const md = renderRegister(r, "md");
    expect(md).toContain("## Erasure time limits (enforced)");
    expect(md).toContain("| old-invoices | shop.invoices | delete | issued_at older than P10Y |");
    const csv = renderRegister(r, "csv");
    expect(csv).toContain("Recipients and transfers,Mailer Inc.,newsletter,mailer,United States,United States,standard contractual clauses");
    expect(JSON.parse(renderRegister(r, "json"))).toEqual(r);
    expect(renderRegister(r, "html")).toContain("<h2>Controller</h2>");
  });

  it("`ropa check` finds every kind of drift", () => {
    const drift = checkRegister(parseDataMap(rawMap(true)));
    expect(drift.map((d) => [d.rule, d.where])).toEqual([
      ["personal-data-without-purpose", "shop.invoices"],
      ["retention-not-enforced", "shop.notes"],
      ["processor-without-country", "mailer"],
      ["transfer-without-safeguard", "recipient Mailer Inc."],
    ]);
  });

  it("`lethe ropa check` exits 1 on drift and 0 without", () => {
    const dir = mkdtempSync(join(tmpdir(), "lethe-ropa-"));
    try {
      for (const [drift, status] of [
        [true, 1],
        [false, 0],
      ] as const) {
        const file = join(dir, `map-${drift}.json`);
        writeFileSync(file, JSON.stringify(rawMap(drift)));
        const run = spawnSync(process.execPath, ["--import", "tsx", "workers/cli.ts", "ropa", "check", "--map", file], { encoding: "utf8", timeout: 60_000 });
        expect(run.status).toBe(status);
        if (drift) expect(run.stderr).toContain("processor-without-country");
        else expect(run.stdout).toContain("matches");
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe("GET /v1/ropa and the console's register page", () => {
  const api = useMigratedApi({ env: CONSOLE_ENV, dataMap: parseDataMap(rawMap(false)) });

  it("serve the same register, in each format", async () => {
    const json = await api.h.app.inject({ method: "GET", url: "/v1/ropa", headers: bearer(CONSOLE_KEYS.viewer) });
    expect(json.statusCode).toBe(200);
    const register = json.json<{ purposes: Array<{ name: string }>; timeLimits: Array<{ policy: string }> }>();
    expect(register.timeLimits.map((t) => t.policy)).toEqual(["old-invoices"]);
    const md = await api.h.app.inject({ method: "GET", url: "/v1/ropa?format=md", headers: bearer(CONSOLE_KEYS.viewer) });
    expect(md.headers["content-type"]).toMatch(/^text\/markdown/);
    expect((await api.h.app.inject({ method: "GET", url: "/v1/ropa/check", headers: bearer(CONSOLE_KEYS.viewer) })).json()).toEqual({ ok: true, drift: [] });
    const cookie = await login(api, CONSOLE_KEYS.viewer);
    const page = await api.h.app.inject({ method: "GET", url: "/admin/register", headers: { cookie } });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain("The register matches");
    for (const p of register.purposes) expect(page.body).toContain(`<td>${p.name}</td>`);
    const csv = await api.h.app.inject({ method: "GET", url: "/admin/register/csv", headers: { cookie } });
    expect(csv.body).toContain("Erasure time limits (enforced),old-invoices");
  });
});
