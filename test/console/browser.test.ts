import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { dueDateFor } from "../../src/requests/due-date";
import { bearer, useMigratedApi } from "../http/harness";
import { CONSOLE_ENV, CONSOLE_KEYS, MARKERS, shape, submit } from "./support";

/**
 * The console in a real browser (Debian's Chromium through puppeteer-core): log in from the
 * keyboard, read the request list, open a request, extend it and see the new due date, open an
 * incident and see its countdown. No console errors (a CSP violation is one), every form control
 * labelled, no marker value on any page; screenshots under test-artifacts/console/.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARTIFACTS = join(__dirname, "..", "..", "test-artifacts", "console");

const api = useMigratedApi({ env: CONSOLE_ENV });
let browser: Browser;
let page: Page;
let base: string;
const problems: string[] = [];
const ids: Record<string, string> = {};
let incidentId = "";

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  ids.failed = await submit(api, MARKERS[0]!);
  ids.dueSoon = await submit(api, MARKERS[1]!);
  ids.onTrack = await submit(api, MARKERS[2]!);
  await shape(api, ids.failed!, { receivedDaysAgo: 35, dueInDays: -4, status: "failed", errorCode: "store_unavailable" });
  await shape(api, ids.dueSoon!, { receivedDaysAgo: 25, dueInDays: 5.5 });
  await shape(api, ids.onTrack!, { receivedDaysAgo: 2, dueInDays: 28 });
  const aware = new Date(Date.now() - 30 * 3600 * 1000).toISOString();
  const created = await api.h.app.inject({
    method: "POST",
    url: "/v1/incidents",
    headers: bearer(CONSOLE_KEYS.incidents),
    payload: {
      title: "Backup bucket readable",
      description: "A backup bucket was public for two hours.",
      kinds: ["confidentiality"],
      detectedAt: aware,
      awareAt: aware,
    },
  });
  expect(created.statusCode).toBe(201);
  incidentId = created.json<{ id: string }>().id;

  await api.h.app.listen({ port: 0, host: "127.0.0.1" });
  base = `http://127.0.0.1:${(api.h.app.server.address() as AddressInfo).port}`;
  browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
  page = await browser.newPage();
  await page.setViewport({ width: 1360, height: 900 });
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warn") problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`pageerror: ${String(e)}`));
  page.on("requestfailed", (r) => problems.push(`requestfailed: ${r.url()}`));
  page.on("response", (r) => {
    if (r.status() >= 400) problems.push(`${r.status()}: ${r.url()}`);
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

/** Every page: no marker value, every control labelled, a screenshot. */
async function checkPage(name: string): Promise<string> {
  const html = await page.content();
  for (const m of MARKERS) expect(html).not.toContain(m);
  const unlabelled = await page.$$eval("input:not([type=hidden]), select, textarea", (els) =>
    els.filter((e) => (e as HTMLInputElement).labels?.length === 0 && !e.getAttribute("aria-label")).map((e) => e.outerHTML),
  );
  expect(unlabelled).toEqual([]);
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  return html;
}

it("logs in from the keyboard and lists requests by days left", async () => {
  await page.goto(`${base}/admin`);
  expect(new URL(page.url()).pathname).toBe("/admin/login");
  await checkPage("01-login");
  // The key field has focus (autofocus); type the key and press Enter: no mouse.
  expect(await page.evaluate(() => document.activeElement?.id)).toBe("key");
  await page.keyboard.type(CONSOLE_KEYS.dpo);
  await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
  expect(new URL(page.url()).pathname).toBe("/admin/requests");
  await checkPage("02-requests");
  const rows = await page.$$eval("tr[data-request]", (trs) => trs.map((tr) => tr.getAttribute("data-request")));
  expect(rows).toEqual([ids.failed, ids.dueSoon, ids.onTrack]);
  const cards = await page.$$eval("li[data-count]", (lis) =>
    Object.fromEntries(lis.map((li) => [li.getAttribute("data-count"), Number(li.querySelector(".n")?.textContent)])),
  );
  expect(cards).toEqual({ open: 3, overdue: 1, due_soon: 1, on_track: 1, held: 0, failed: 1 });

  // The filters work from the keyboard too: choose "overdue" and submit.
  await page.focus("#f-band");
  await page.select("#f-band", "overdue");
  await Promise.all([page.waitForNavigation(), page.click("form.filters button")]);
  expect(await page.$$eval("tr[data-request]", (trs) => trs.map((tr) => tr.getAttribute("data-request")))).toEqual([ids.failed]);
  await checkPage("03-requests-overdue");
}, 60_000);

it("opens a request, extends it after a confirmation and shows the new due date", async () => {
  await page.goto(`${base}/admin/requests`);
  await Promise.all([page.waitForNavigation(), page.click(`tr[data-request="${ids.dueSoon}"] a`)]);
  expect(new URL(page.url()).pathname).toBe(`/admin/requests/${ids.dueSoon}`);
  await checkPage("04-request");
  const [row] = (await api.ds.query(`SELECT received_at, due_at FROM lethe.subject_request WHERE id = $1`, [ids.dueSoon])) as Array<{
    received_at: Date;
    due_at: Date;
  }>;
  expect(await page.$eval("[data-field=due] time", (t) => t.textContent)).toBe(row!.due_at.toISOString().slice(0, 10));

  await page.select("#months", "2");
  await page.focus("#reason");
  await page.keyboard.type("Many requests this month; we need two more months.");
  await Promise.all([page.waitForNavigation(), page.click("#extend-h + form button")]);
  await checkPage("05-extend-confirm");
  expect(await page.$eval("main form button", (b) => b.textContent)).toContain("Confirm");
  await page.focus("main form button");
  await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
  await checkPage("06-extended");
  const expected = dueDateFor(row!.received_at, 3).toISOString().slice(0, 10);
  expect(await page.$eval("[data-field=due] time", (t) => t.textContent)).toBe(expected);
  expect(await page.$eval("p.notice", (p) => p.textContent)).toContain("extended");
  const [after] = (await api.ds.query(`SELECT due_at FROM lethe.subject_request WHERE id = $1`, [ids.dueSoon])) as Array<{ due_at: Date }>;
  expect(after!.due_at.toISOString().slice(0, 10)).toBe(expected);
}, 60_000);

it("opens an incident and shows its 72-hour countdown", async () => {
  await page.goto(`${base}/admin/incidents`);
  await checkPage("07-incidents");
  expect(await page.$eval('li[data-count="clock-under-24h"] .n', (n) => n.textContent)).toBe("0");
  await Promise.all([page.waitForNavigation(), page.click(`tr[data-incident="${incidentId}"] a`)]);
  await checkPage("08-incident");
  const text = await page.$eval("[data-field=countdown]", (c) => c.textContent ?? "");
  // Aware 30 hours ago: 41 h 59 min or so left of 72.
  expect(text).toMatch(/^4[12] h \d+ min left$/);
}, 60_000);

it("shows retention, deliveries, holds, audit and register pages without errors", async () => {
  for (const [i, section] of ["retention", "deliveries", "holds", "audit", "register"].entries()) {
    await page.goto(`${base}/admin/${section}`);
    expect(await page.$eval("h1", (h) => h.textContent)).toBeTruthy();
    await checkPage(`${String(9 + i).padStart(2, "0")}-${section}`);
  }
  expect(problems).toEqual([]);
}, 60_000);
