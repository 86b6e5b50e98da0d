import { randomUUID } from "node:crypto";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Client } from "pg";
import { getOpenDsrCall } from "../../src/db/tables/opendsr-call";
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
});
