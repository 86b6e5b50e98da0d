import { randomUUID } from "node:crypto";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Client } from "pg";
import { getOpenDsrCall } from "../../src/db/tables/opendsr-call";
import { privateKeyOf, signBody } from "../../src/opendsr/signature";
import { openDsrCallbackUrl } from "../../src/stores/opendsr/adapter";
import { OpenDsrClient, UntrustedProcessorError } from "../../src/stores/opendsr/client";
import { OPENDSR_STORE_SCHEMA } from "../../src/stores/opendsr/schema";
import { openDsrAdapter } from "../../src/stores/opendsr/adapter";
import type { DataMap } from "../../src/datamap/schema";
import { PermanentError } from "../../src/errors";
import { storeJobId } from "../../src/queues/jobs/erase-store";
import { verifyBody } from "../../src/opendsr/signature";
import { DOMAIN_HEADER, SIGNATURE_HEADER } from "../../src/opendsr/protocol";
import { waitFor } from "../helpers/wait";
import { zipEntries } from "../helpers/zip";
import { CONTROLLER_KEY, PROCESSOR_DOMAIN, startControllerSide, startProcessorSide, type Deployment, type ProcessorSide } from "./deployments";

/**
 * Two Lethe deployments exchange OpenDSR requests: the controller erases a customer and its
 * `opendsr` store sends the erasure to the processor (another Lethe), which erases its own copy,
 * calls back signed, and the controller's request completes with the processor's signed answer in
 * its receipt. Then an access request to the processor ends with a signed `results_url` that
 * downloads the subject's zip.
 */
jest.setTimeout(120_000);

const MARKER = "opendsr-exchange-a";
const EXPORTED = "opendsr-exchange-b";

async function customerCount(url: string, email: string): Promise<number> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM public.customers WHERE email = $1`, [email]);
    return r.rows[0]!.n;
  } finally {
    await c.end();
  }
}

describe("two Lethe deployments over OpenDSR", () => {
  let p: ProcessorSide;
  let c: Deployment;
  const controllerIds = new Map<string, number>();

  beforeAll(async () => {
    p = await startProcessorSide([MARKER, EXPORTED]);
    c = await startControllerSide(p, [MARKER], controllerIds);
  });

  afterAll(async () => {
    await c?.close();
    await p?.close();
  });

  it("erases the subject at the processor and completes with the processor's signed answer in the receipt", async () => {
    const email = `${MARKER}@example.com`;
    expect(await customerCount(p.h.appDb.url, email)).toBe(1);
    const { request } = await c.h.submit({ id: String(controllerIds.get(MARKER)) });

    const view = await c.h.waitForStatus(request.id, ["completed", "failed"], 60_000);
    expect(view.error ?? null).toBeNull();
    expect(view.status).toBe("completed");
    expect(view.steps).toEqual(expect.arrayContaining([expect.objectContaining({ store: "proc", table: "processor", action: "notified", rows: 1 })]));
    // The processor erased its own copy of the subject.
    expect(await customerCount(p.h.appDb.url, email)).toBe(0);
    expect(await customerCount(c.h.appDb.url, email)).toBe(0);

    // The store waited in a job of its own (woken by the callback), never by failing the entry job.
    const storeJob = await c.h.erasureQueue.getJob(storeJobId(request.id, "proc"));
    expect(storeJob).toBeDefined();
    const call = await getOpenDsrCall(c.h.ds, { requestId: request.id, store: "proc" });
    expect(call).toEqual(expect.objectContaining({ status: "completed", controllerId: "ctl" }));
    expect(call!.expectedAt).toBeInstanceOf(Date);

    const receipt = await c.api.inject({
      method: "GET",
      url: `/v1/requests/${request.id}/receipt`,
      headers: { authorization: `Bearer test-writer-key-0000000001` },
    });
    expect(receipt.statusCode).toBe(200);
    const stores = (receipt.json() as { receipt: { stores: Array<{ store: string; processorAnswer?: { body: string; signature: string; domain: string } }> } })
      .receipt.stores;
    const answer = stores.find((s) => s.store === "proc")!.processorAnswer!;
    expect(answer.domain).toBe(PROCESSOR_DOMAIN);
    expect(JSON.parse(answer.body)).toEqual(expect.objectContaining({ request_status: "completed" }));
    // Anyone holding the processor's certificate can check the answer.
    expect(verifyBody(new X509Certificate(p.cert.certPem), answer.body, answer.signature)).toBe(true);
    // The receipt names no identity.
    expect(JSON.stringify(receipt.json())).not.toContain(MARKER);
  });

  it("answers an access request with a signed status whose results_url downloads the subject's zip", async () => {
    const id = randomUUID();
    const body = JSON.stringify({
      subject_request_id: id,
      subject_request_type: "access",
      submitted_time: new Date().toISOString(),
      subject_identities: [{ identity_type: "email", identity_value: `${EXPORTED}@example.com`, identity_format: "raw" }],
      api_version: "2.0",
    });
    const created = await fetch(`${p.base}/opendsr/v2/requests`, {
      method: "POST",
      headers: { authorization: `Bearer ${CONTROLLER_KEY}`, "content-type": "application/json" },
      body,
    });
    expect(created.status).toBe(201);
    const cert = new X509Certificate(p.cert.certPem);
    expect(created.headers.get(DOMAIN_HEADER)).toBe(PROCESSOR_DOMAIN);
    expect(verifyBody(cert, await created.clone().text(), created.headers.get(SIGNATURE_HEADER)!)).toBe(true);

    const status = await waitFor(
      async () => {
        const r = await fetch(`${p.base}/opendsr/v2/requests/${id}`, { headers: { authorization: `Bearer ${CONTROLLER_KEY}` } });
        const text = await r.text();
        expect(verifyBody(cert, text, r.headers.get(SIGNATURE_HEADER)!)).toBe(true);
        const s = JSON.parse(text) as { request_status: string; results_url?: string; results_count?: number };
        return s.request_status === "completed" ? s : undefined;
      },
      "the access request to complete",
      60_000,
      250,
    );
    expect(status.results_url).toMatch(new RegExp(`^${p.base}/v1/exports/[0-9a-f-]{36}/download\\?token=`));
    expect(status.results_count).toBeGreaterThan(0);
    const zip = await fetch(status.results_url!);
    expect(zip.status).toBe(200);
    const file = join(mkdtempSync(join(tmpdir(), "lethe-opendsr-zip-")), "export.zip");
    writeFileSync(file, Buffer.from(await zip.arrayBuffer()));
    const entries = await zipEntries(file);
    rmSync(dirname(file), { recursive: true, force: true });
    expect(entries.some((e) => e.startsWith("data/shop/customers"))).toBe(true);
  });

  describe("callbacks at /v1/opendsr/callbacks", () => {
    const post = (body: string, headers: Record<string, string>) =>
      fetch(`${c.base}/v1/opendsr/callbacks`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
    const callbackBody = (overrides: Record<string, unknown> = {}) =>
      JSON.stringify({
        controller_id: "ctl",
        expected_completion_time: new Date(Date.now() + 86_400_000).toISOString(),
        status_callback_url: openDsrCallbackUrl(c.h.config.publicUrl),
        subject_request_id: randomUUID(),
        request_status: "completed",
        ...overrides,
      });
    const signedBy = (keyPem: string, body: string, domain = PROCESSOR_DOMAIN) => ({
      "x-opendsr-processor-domain": domain,
      "x-opendsr-signature": signBody(privateKeyOf(keyPem), body),
    });

    it("refuses unsigned, tampered, wrongly signed and wrong-domain callbacks with 403 before reading them", async () => {
      const body = callbackBody();
      expect((await post(body, {})).status).toBe(403);
      expect((await post(body, { ...signedBy(p.cert.keyPem, body), "x-opendsr-signature": "AAAA" })).status).toBe(403);
      // Signed, then altered.
      expect((await post(body.replace("completed", "cancelled"), signedBy(p.cert.keyPem, body))).status).toBe(403);
      // A key whose certificate is self-signed (or from another authority) for the same domain.
      const impostor = p.ca.selfSigned(PROCESSOR_DOMAIN, "impostor");
      expect((await post(body, signedBy(impostor.keyPem, body))).status).toBe(403);
      // The right key, another domain: no store of that processor.
      const res = await post(body, signedBy(p.cert.keyPem, body, "elsewhere.lethe.test"));
      expect(res.status).toBe(403);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      // Not JSON, but unsigned: still 403, never a parse error first.
      expect((await post("{not json", {})).status).toBe(403);
    });

    it("answers a signed callback naming an unknown request with 404 and a foreign callback URL with 400", async () => {
      const unknown = callbackBody();
      expect((await post(unknown, signedBy(p.cert.keyPem, unknown))).status).toBe(404);
      const foreign = callbackBody({ status_callback_url: "https://someone-else.example/cb" });
      expect((await post(foreign, signedBy(p.cert.keyPem, foreign))).status).toBe(400);
      const malformed = "{not json";
      expect((await post(malformed, signedBy(p.cert.keyPem, malformed))).status).toBe(400);
    });
  });

  describe("the controller's client", () => {
    const spec = (extra: Record<string, unknown>) =>
      OPENDSR_STORE_SCHEMA.parse({
        kind: "opendsr",
        url: `${p.base}/opendsr/v2`,
        apiKey: CONTROLLER_KEY,
        domain: PROCESSOR_DOMAIN,
        identities: [{ identity: "email", type: "email" }],
        ...extra,
      });

    it("trusts the processor only through the configured authority, for its domain", async () => {
      const trusting = new OpenDsrClient(() => spec({ tls: { caFile: `${p.ca.dir}/ca.pem` } }));
      const answer = await trusting.call("GET", "discovery");
      expect(answer).toEqual(expect.objectContaining({ kind: "answer", status: 200, signed: true }));
      // The system's roots do not know the test CA: the certificate is refused.
      await expect(new OpenDsrClient(() => spec({})).certificate()).rejects.toBeInstanceOf(UntrustedProcessorError);
      // A store expecting another domain refuses the processor's answers.
      const elsewhere = await new OpenDsrClient(() => spec({ domain: "elsewhere.lethe.test", tls: { caFile: `${p.ca.dir}/ca.pem` } })).call("GET", "discovery");
      expect(elsewhere).toEqual(expect.objectContaining({ kind: "answer", signed: false, reason: "the answer names another processor domain" }));
      // A tampered body fails the signature check.
      const d = await fetch(`${p.base}/opendsr/v2/discovery`, { headers: { authorization: `Bearer ${CONTROLLER_KEY}` } });
      const text = await d.text();
      expect(await trusting.verify(PROCESSOR_DOMAIN, d.headers.get(SIGNATURE_HEADER), text.replace("erasure", "erasurE"))).toMatch(/signature does not match/);
      expect(await trusting.verify(PROCESSOR_DOMAIN, d.headers.get(SIGNATURE_HEADER), text)).toBeNull();
    });
  });

  describe("an opendsr store whose processor cannot be trusted", () => {
    it("fails the store for good (opendsr_untrusted) when the certificate does not chain to the store's authority or names another domain", async () => {
      const { request } = await c.h.submit({ id: String(controllerIds.get(MARKER) ?? 1) }, { dryRun: true });
      for (const [store, extra] of [
        ["untrusted", {}],
        ["elsewhere", { domain: "elsewhere.lethe.test", tls: { caFile: `${p.ca.dir}/ca.pem` } }],
      ] as const) {
        const spec = OPENDSR_STORE_SCHEMA.parse({
          kind: "opendsr",
          url: `${p.base}/opendsr/v2`,
          apiKey: CONTROLLER_KEY,
          domain: PROCESSOR_DOMAIN,
          identities: [{ identity: "email", type: "email" }],
          ...extra,
        });
        const dataMap = { ...c.h.dataMap, stores: { ...c.h.dataMap.stores, [store]: spec } } as DataMap;
        const adapter = openDsrAdapter(store, { dataMap, config: c.h.config, pools: undefined as never, logger: c.h.logger, ds: c.h.ds });
        const ctx = { requestId: request.id, store, snapshot: { identities: { id: "1", email: "untrusted-case@example.com" }, seed: {} }, logger: c.h.logger };
        const err = (await adapter.erase(ctx, async () => undefined).catch((e: unknown) => e)) as PermanentError;
        expect(err).toBeInstanceOf(PermanentError);
        expect(err.code).toBe("opendsr_untrusted");
        expect(err.message).not.toContain("untrusted-case");
        expect(await getOpenDsrCall(c.h.ds, { requestId: request.id, store })).toEqual(
          expect.objectContaining({ status: "failed", errorCode: "opendsr_untrusted" }),
        );
        expect(await adapter.verify(ctx)).toEqual([expect.stringContaining("not confirmed")]);
      }
    });
  });
});
