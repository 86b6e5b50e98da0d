import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { SignedReceipt } from "../../src/receipts/receipt";
import { verifyReceipt } from "../../src/receipts/receipt";
import type { RequestView } from "../../src/requests/view";
import { loadTraps } from "../fixtures/traps/seed";
import { runTs } from "../helpers/child-process";
import { TEST_KEYS } from "../helpers/config";
import { TRAPS_MAP } from "../helpers/data-maps";
import type { WorkerHandle } from "../../workers/worker";
import { diffChecksums, rowChecksums } from "../helpers/row-checksums";
import { waitFor } from "../helpers/wait";
import { createExportHarness, type ExportHarness } from "../exports/support";

/**
 * Issue 9, item 4: "not found" never looks like "erased". A subject that does not exist ends with
 * the outcome `subject_not_found` in the status, the receipt (never `verified: true`), the audit
 * log, the application callback, the metrics and the CLI's exit code; dry runs are counted apart.
 * On main at 01e884f the same erasure ended `completed` with a signed `verified: true` receipt,
 * audited `erasure.completed`, and an unknown-subject export showed only `"export": null`.
 */
jest.setTimeout(120_000);

const SECRET = "honest-outcomes-callback-secret-0001";
const NOBODY = "nobody-zq-4242@example.com";

interface Callback {
  event: string;
  requestId: string;
  type: string;
  status: string;
  dryRun: boolean;
  outcome: string | null;
  subjectFound: boolean | null;
  verified: boolean;
  error: { code: string } | null;
}

describe("honest outcomes", () => {
  let x: ExportHarness;
  let worker: WorkerHandle;
  let app: Server;
  const callbacks: Callback[] = [];

  const http = async <T>(method: string, path: string, key: string = TEST_KEYS.admin): Promise<{ status: number; json: T; text: string }> => {
    const res = await fetch(`${x.apiUrl}${path}`, { method, headers: { authorization: `Bearer ${key}` } });
    const text = await res.text();
    return { status: res.status, json: (text.startsWith("{") ? JSON.parse(text) : null) as T, text };
  };
  const callbackOf = (requestId: string): Promise<Callback> =>
    waitFor(async () => callbacks.find((c) => c.requestId === requestId), `the application callback of ${requestId}`);
  const auditEvents = async (requestId: string): Promise<string[]> =>
    ((await x.h.ds.query(`SELECT event FROM lethe.audit_log WHERE request_id = $1 ORDER BY id`, [requestId])) as Array<{ event: string }>).map((r) => r.event);

  beforeAll(async () => {
    app = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
      req.on("end", () => {
        callbacks.push(JSON.parse(body) as Callback);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
    const port = (app.address() as AddressInfo).port;
    x = await createExportHarness({
      map: TRAPS_MAP,
      prepare: (url) => loadTraps(url),
      env: {
        LETHE_CALLBACK_URL: `http://127.0.0.1:${port}/lethe-events`,
        LETHE_CALLBACK_SECRET: SECRET,
        LETHE_API_KEYS: `app:${TEST_KEYS.writer}:requests.write|requests.read;ops:${TEST_KEYS.admin}:admin`,
      },
    });
    worker = await x.h.startWorker({ queues: ["erasure", "maintenance", "export", "mail"] });
  });

  afterAll(async () => {
    await worker?.close();
    await x?.cleanup();
    await new Promise<void>((resolve) => (app ? app.close(() => resolve()) : resolve()));
  });

  it("an erasure of nobody: subject_not_found in the status, receipt, audit log and callback; nothing changed", async () => {
    const before = await rowChecksums(x.h.appDb.url);
    const { request } = await x.h.submit({ email: NOBODY });
    const view = await x.h.waitForStatus(request.id, ["completed", "failed"]);
    expect(view).toMatchObject({ status: "completed", outcome: "subject_not_found", subjectFound: false, verified: false, steps: [], error: null });
    expect(diffChecksums(before, await rowChecksums(x.h.appDb.url))).toEqual({ removed: [], changed: [], added: [] });

    const receipt = await http<SignedReceipt>("GET", `/v1/requests/${request.id}/receipt`);
    expect(receipt.status).toBe(200);
    expect(receipt.json.receipt).toMatchObject({ outcome: "subject_not_found", subjectFound: false, verified: false, stores: [] });
    const key = await http<{ publicKeyPem: string }>("GET", "/v1/receipts/public-key");
    expect(verifyReceipt(receipt.json, key.json.publicKeyPem)).toBe(true);

    expect(await auditEvents(request.id)).toEqual(["request.received", "erasure.subject_not_found"]);
    expect(await callbackOf(request.id)).toMatchObject({
      event: "request.completed",
      type: "erasure",
      status: "completed",
      dryRun: false,
      outcome: "subject_not_found",
      subjectFound: false,
      verified: false,
      error: null,
    });
    expect(receipt.text + JSON.stringify(callbacks)).not.toContain(NOBODY);
  });

  it("a real erasure is done and verified; a preview is previewed, never verified", async () => {
    const { request } = await x.h.submit({ id: "7" });
    const view = await x.h.waitForStatus(request.id, ["completed", "failed"]);
    expect(view).toMatchObject({ status: "completed", outcome: "done", subjectFound: true, verified: true, error: null });
    const receipt = await http<SignedReceipt>("GET", `/v1/requests/${request.id}/receipt`);
    expect(receipt.json.receipt).toMatchObject({ outcome: "done", subjectFound: true, verified: true });
    expect(await auditEvents(request.id)).toEqual(["request.received", "erasure.completed"]);
    expect(await callbackOf(request.id)).toMatchObject({ outcome: "done", subjectFound: true, verified: true, dryRun: false });

    const preview = await x.h.submit({ id: "8" }, { dryRun: true });
    const pv = await x.h.waitForStatus(preview.request.id, ["completed", "failed"]);
    expect(pv).toMatchObject({ status: "completed", dryRun: true, outcome: "previewed", subjectFound: true, verified: false });
    expect((await http<SignedReceipt>("GET", `/v1/requests/${preview.request.id}/receipt`)).json.receipt).toMatchObject({
      outcome: "previewed",
      verified: false,
    });
    expect(await auditEvents(preview.request.id)).toEqual(["request.received", "erasure.previewed"]);
    expect(await callbackOf(preview.request.id)).toMatchObject({ outcome: "previewed", dryRun: true, verified: false });
  });

  it("an export of nobody: subject_not_found, no mail, and the application is called back", async () => {
    const mails = x.smtp.messages.length;
    const request = await x.submitExport({ email: NOBODY });
    const view = await x.h.waitForStatus(request.id, ["completed", "failed"]);
    expect(view).toMatchObject({ status: "completed", outcome: "subject_not_found", subjectFound: false, verified: false, export: null });
    expect(await auditEvents(request.id)).toEqual(["request.received", "export.subject_not_found"]);
    expect(await callbackOf(request.id)).toMatchObject({ type: "export", outcome: "subject_not_found", subjectFound: false, verified: false });
    expect(x.smtp.messages.length).toBe(mails);
  });

  it("an export of a real subject calls back when its mail is out (outcome done, never verified)", async () => {
    const request = await x.submitExport({ id: "9" });
    const view = await x.h.waitForStatus(request.id, ["completed", "failed"]);
    expect(view).toMatchObject({ status: "completed", outcome: "done", subjectFound: true, verified: false });
    expect(await callbackOf(request.id)).toMatchObject({ type: "export", event: "request.completed", outcome: "done", subjectFound: true, verified: false });
  });

  it("metrics: previews apart from real requests; completed requests by outcome", async () => {
    const res = await http<null>("GET", "/metrics");
    expect(res.status).toBe(200);
    const text = res.text;
    expect(text).toContain('lethe_requests_completed{type="erasure",outcome="subject_not_found",dry_run="false"} 1');
    expect(text).toContain('lethe_requests_completed{type="erasure",outcome="done",dry_run="false"} 1');
    expect(text).toContain('lethe_requests_completed{type="erasure",outcome="previewed",dry_run="true"} 1');
    expect(text).toContain('lethe_requests_completed{type="export",outcome="subject_not_found",dry_run="false"} 1');
    expect(text).toContain('lethe_requests_completed{type="export",outcome="done",dry_run="false"} 1');
    // Real requests: two erasures (the preview is not one of them), counted apart from the preview.
    expect(text).toContain('lethe_requests{type="erasure",status="completed"} 2');
    expect(text).toContain('lethe_request_previews{type="erasure",status="completed"} 1');
  });

  it("the CLI exits 3 when the waited-for erasure found nobody, 0 when it erased someone", async () => {
    const env = { ...x.h.env };
    const nobody = await runTs("workers/cli.ts", ["request", "erasure", "--by", "email", "--subject", NOBODY, "--wait", "--timeout", "60"], env);
    expect(nobody.code).toBe(3);
    expect(JSON.parse(nobody.stdout) as RequestView).toMatchObject({ status: "completed", outcome: "subject_not_found", verified: false });
    expect(nobody.stdout).not.toContain(NOBODY);
    const someone = await runTs("workers/cli.ts", ["request", "erasure", "--subject", "11", "--wait", "--timeout", "60"], env);
    expect(someone.code).toBe(0);
    expect(JSON.parse(someone.stdout) as RequestView).toMatchObject({ status: "completed", outcome: "done", verified: true });
  });
});
