import { createHash, randomUUID, X509Certificate } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { Client } from "pg";
import { ERROR_BODY_SCHEMA, SIGNATURE_HEADER, DOMAIN_HEADER, STATUS_BODY_SCHEMA } from "../../src/opendsr/protocol";
import { verifyBody } from "../../src/opendsr/signature";
import { freePort } from "../../support/free-port";
import { waitFor } from "../helpers/wait";
import { APP_KEY, CONTROLLER_KEY, OTHER_CONTROLLER_KEY, PROCESSOR_DOMAIN, startProcessorSide, type ProcessorSide } from "./deployments";

/**
 * Lethe as an OpenDSR processor, driven over real HTTP as a controller's tool would: discovery,
 * authentication, validation (the spec's error object, never a 500), replays, cancellation,
 * unknown ids, hashed identities, and status callbacks retried until the callback URL answers.
 */
jest.setTimeout(120_000);

const HASHED = "opendsr-api-hashed";
const CANCELLED = "opendsr-api-cancel";
const REPLAYED = "opendsr-api-replay";
const CALLBACK = "opendsr-api-callback";

describe("Lethe as an OpenDSR processor", () => {
  let p: ProcessorSide;
  let cert: X509Certificate;

  beforeAll(async () => {
    p = await startProcessorSide([HASHED, CANCELLED, REPLAYED, CALLBACK]);
    cert = new X509Certificate(p.cert.certPem);
  });
  afterAll(async () => {
    await p?.close();
  });

  const call = (method: string, path: string, body?: unknown, key = CONTROLLER_KEY) =>
    fetch(`${p.base}/opendsr/v2${path}`, {
      method,
      headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
    });

  const requestBody = (marker: string, extra: Record<string, unknown> = {}) => ({
    subject_request_id: randomUUID(),
    subject_request_type: "erasure",
    submitted_time: new Date().toISOString(),
    subject_identities: [{ identity_type: "email", identity_value: `${marker}@example.com`, identity_format: "raw" }],
    api_version: "2.0",
    ...extra,
  });

  /** Reads a signed answer: the signature must verify on the raw body before it is parsed. */
  async function signed(res: Response): Promise<Record<string, unknown>> {
    const text = await res.text();
    expect(res.headers.get(DOMAIN_HEADER)).toBe(PROCESSOR_DOMAIN);
    expect(verifyBody(cert, text, res.headers.get(SIGNATURE_HEADER) ?? "")).toBe(true);
    return JSON.parse(text) as Record<string, unknown>;
  }

  /** An error answer: the spec's error object inside an RFC 9457 problem, with `status` as its code. */
  async function specError(res: Response, status: number): Promise<{ message?: string; errors?: Array<{ domain: string; reason: string; message: string }> }> {
    expect(res.status).toBe(status);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toEqual(expect.objectContaining({ status, type: expect.stringMatching(/^urn:lethe:problem:/) }));
    const parsed = ERROR_BODY_SCHEMA.parse(body);
    expect(parsed.error.code).toBe(status);
    return parsed.error;
  }

  async function customers(email: string): Promise<number> {
    const c = new Client({ connectionString: p.h.appDb.url });
    await c.connect();
    try {
      return (await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM public.customers WHERE email = $1`, [email])).rows[0]!.n;
    } finally {
      await c.end();
    }
  }

  async function statusOf(id: string): Promise<string> {
    return (await signed(await call("GET", `/requests/${id}`))).request_status as string;
  }

  it("describes itself in a signed discovery and serves its certificate", async () => {
    const d = await signed(await call("GET", "/discovery"));
    expect(d).toEqual({
      api_version: "2.0",
      supported_identities: [
        { identity_type: "controller_customer_id", identity_format: "raw" },
        { identity_type: "email", identity_format: "raw" },
        { identity_type: "email", identity_format: "sha256" },
      ],
      supported_subject_request_types: ["erasure", "access", "portability"],
      processor_certificate: `${p.base}/opendsr/v2/certificate.pem`,
    });
    const pem = await (await call("GET", "/certificate.pem")).text();
    expect(new X509Certificate(pem).fingerprint256).toBe(cert.fingerprint256);
  });

  it("admits only keys with the opendsr scope, answering with the error object", async () => {
    expect((await specError(await call("GET", "/discovery", undefined, ""), 401)).message).toContain("Bearer");
    const forbidden = await specError(await call("GET", "/discovery", undefined, APP_KEY), 403);
    expect(forbidden.message).toContain('lacks the scope "opendsr"');
    await specError(await call("GET", "/discovery", undefined, "not-a-key-at-all-0000000"), 401);
  });

  it("refuses malformed bodies with the spec's error object, never a 500", async () => {
    const missing = await specError(await call("POST", "/requests", { subject_request_type: "erasure", submitted_time: new Date().toISOString() }), 400);
    expect(missing.errors).toEqual(
      expect.arrayContaining([expect.objectContaining({ domain: "Validation", message: expect.stringContaining("subject_request_id") })]),
    );
    await specError(await call("POST", "/requests", "{not json"), 400);
    await specError(await call("POST", "/requests", "[]"), 400);
    await specError(await call("POST", "/requests", "null"), 400);
    await specError(await call("POST", "/requests", requestBody(HASHED, { subject_request_id: "A7551968-D5D6-44B2-9831-815AC9017798" })), 400);
    await specError(await call("POST", "/requests", requestBody(HASHED, { subject_request_type: "rectification" })), 400);
    await specError(await call("POST", "/requests", requestBody(HASHED, { submitted_time: "2999-01-01T00:00:00Z" })), 400);
    await specError(await call("POST", "/requests", requestBody(HASHED, { status_callback_urls: ["http://controller.example.com/cb"] })), 400);
    await specError(await call("POST", "/requests", requestBody(HASHED, { surprise: true })), 400);
    const unsupported = await specError(
      await call(
        "POST",
        "/requests",
        requestBody(HASHED, { subject_identities: [{ identity_type: "android_id", identity_value: "x", identity_format: "raw" }] }),
      ),
      400,
    );
    expect(unsupported.errors![0]!.reason).toBe("UnsupportedIdentity");
    await specError(
      await call(
        "POST",
        "/requests",
        requestBody(HASHED, { subject_identities: [{ identity_type: "email", identity_value: "zz", identity_format: "sha256" }] }),
      ),
      400,
    );
    // No error message echoes an identity value.
    const res = await call("POST", "/requests", requestBody(HASHED, { subject_request_type: "nope" }));
    expect(await res.text()).not.toContain(HASHED);
  });

  it("answers unknown, malformed and other controllers' ids with 404 or 400", async () => {
    expect((await specError(await call("GET", `/requests/${randomUUID()}`), 404)).errors![0]!.reason).toBe("NotFound");
    await specError(await call("GET", "/requests/not-a-uuid"), 400);
    await specError(await call("DELETE", `/requests/${randomUUID()}`), 404);
    const body = requestBody(REPLAYED, { subject_request_type: "access" });
    expect((await call("POST", "/requests", body)).status).toBe(201);
    await specError(await call("GET", `/requests/${body.subject_request_id}`, undefined, OTHER_CONTROLLER_KEY), 404);
  });

  it("treats subject_request_id as the idempotency key: the same body answers the same, another body is refused", async () => {
    const body = JSON.stringify(requestBody(REPLAYED));
    const first = await call("POST", "/requests", body);
    expect(first.status).toBe(201);
    const a = await signed(first);
    expect(a.encoded_request).toBe(Buffer.from(body).toString("base64"));
    expect(typeof a.processor_signature).toBe("string");
    const again = await call("POST", "/requests", body);
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    const b = await signed(again);
    expect(b.received_time).toBe(a.received_time);
    expect(b.expected_completion_time).toBe(a.expected_completion_time);
    const changed = JSON.parse(body) as Record<string, unknown>;
    changed.subject_request_type = "access";
    expect((await specError(await call("POST", "/requests", changed), 400)).errors![0]!.reason).toBe("DuplicateSubjectRequestId");
    await specError(await call("POST", "/requests", body, OTHER_CONTROLLER_KEY), 400);
    const rows = (await p.h.ds.query(`SELECT count(*)::int AS n FROM lethe.subject_request WHERE idempotency_key = $1`, [
      `opendsr-${(JSON.parse(body) as { subject_request_id: string }).subject_request_id}`,
    ])) as Array<{ n: number }>;
    expect(rows[0]!.n).toBe(1);
  });

  it("honours the OpenGDPR names of the routes and headers (§10.1)", async () => {
    const body = requestBody(REPLAYED, { subject_request_type: "access" });
    const created = await call("POST", "/opengdpr_requests", body);
    expect(created.status).toBe(201);
    const text = await created.text();
    expect(created.headers.get("x-opengdpr-processor-domain")).toBe(PROCESSOR_DOMAIN);
    expect(verifyBody(cert, text, created.headers.get("x-opengdpr-signature") ?? "")).toBe(true);
    expect(await signed(await call("GET", `/opengdpr_requests/${body.subject_request_id}`))).toEqual(
      expect.objectContaining({ subject_request_id: body.subject_request_id }),
    );
  });

  it("starts the clock at submitted_time: expected completion is one calendar month later", async () => {
    const body = requestBody(REPLAYED, { subject_request_type: "portability", submitted_time: "2026-01-31T10:00:00Z" });
    const created = await signed(await call("POST", "/requests", body));
    expect(created.expected_completion_time).toBe("2026-02-28T10:00:00.000Z");
  });

  it("cancels a pending request (202) and refuses to cancel one that finished", async () => {
    await p.h.erasureQueue.pause();
    const body = requestBody(CANCELLED);
    expect((await call("POST", "/requests", body)).status).toBe(201);
    expect(await statusOf(body.subject_request_id)).toBe("pending");
    const cancelled = await call("DELETE", `/requests/${body.subject_request_id}`);
    expect(cancelled.status).toBe(202);
    expect(await signed(cancelled)).toEqual(expect.objectContaining({ subject_request_id: body.subject_request_id, controller_id: "ctl", api_version: "2.0" }));
    expect((await call("DELETE", `/requests/${body.subject_request_id}`)).status).toBe(202);
    expect(await statusOf(body.subject_request_id)).toBe("cancelled");
    await p.h.erasureQueue.resume();
    const rows = (await p.h.ds.query(`SELECT status, error_code FROM lethe.subject_request WHERE idempotency_key = $1`, [
      `opendsr-${body.subject_request_id}`,
    ])) as Array<{ status: string; error_code: string }>;
    expect(rows[0]).toEqual({ status: "failed", error_code: "cancelled" });
    // Nothing was erased.
    expect(await customers(`${CANCELLED}@example.com`)).toBe(1);

    const done = requestBody(CANCELLED, {
      subject_identities: [{ identity_type: "email", identity_value: "nobody-here@example.com", identity_format: "raw" }],
    });
    expect((await call("POST", "/requests", done)).status).toBe(201);
    await waitFor(async () => ((await statusOf(done.subject_request_id)) === "completed" ? true : undefined), "the request to complete");
    expect((await specError(await call("DELETE", `/requests/${done.subject_request_id}`), 400)).errors![0]!.reason).toBe("NotCancellable");
  });

  it("matches an sha256 identity against the hash of the normalised email", async () => {
    const digest = createHash("sha256").update(`${HASHED}@example.com`).digest("hex");
    const body = requestBody(HASHED, { subject_identities: [{ identity_type: "email", identity_value: digest.toUpperCase(), identity_format: "sha256" }] });
    expect((await call("POST", "/requests", body)).status).toBe(201);
    await waitFor(async () => ((await statusOf(body.subject_request_id)) === "completed" ? true : undefined), "the hashed erasure to complete", 60_000);
    expect(await customers(`${HASHED}@example.com`)).toBe(0);
    // A digest that matches nobody completes at once, with no Lethe request.
    const nobody = requestBody(HASHED, {
      subject_identities: [
        { identity_type: "email", identity_value: createHash("sha256").update("nobody@example.com").digest("hex"), identity_format: "sha256" },
      ],
    });
    expect((await call("POST", "/requests", nobody)).status).toBe(201);
    expect(await statusOf(nobody.subject_request_id)).toBe("completed");
  });

  it("retries a status callback to an unreachable URL until it answers, signed, with status_callback_url", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/opendsr/callbacks`;
    const body = requestBody(CALLBACK, { status_callback_urls: [url] });
    expect((await call("POST", "/requests", body)).status).toBe(201);
    // The first callback (pending or completed, whichever the sync saw first) fails at least twice: nothing listens.
    const job = await waitFor(
      async () => {
        for (const status of ["pending", "in_progress", "completed"]) {
          const j = await p.h.maintenanceQueue.getJob(`opendsr-cb-${body.subject_request_id}-${status}-0`);
          if (j && j.attemptsMade >= 2) return j;
        }
        return undefined;
      },
      "a callback job retried twice",
      60_000,
    );
    expect(job.id).not.toContain(":");

    const received: Array<{ body: string; signature: string; domain: string }> = [];
    const server: Server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        received.push({
          body: Buffer.concat(chunks).toString("utf8"),
          signature: String(req.headers[SIGNATURE_HEADER]),
          domain: String(req.headers[DOMAIN_HEADER]),
        });
        res.statusCode = 200;
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    try {
      const completed = await waitFor(
        async () => received.find((r) => (JSON.parse(r.body) as { request_status: string }).request_status === "completed"),
        "the completed callback",
        60_000,
      );
      expect(completed.domain).toBe(PROCESSOR_DOMAIN);
      expect(verifyBody(cert, completed.body, completed.signature)).toBe(true);
      const parsed = STATUS_BODY_SCHEMA.parse(JSON.parse(completed.body));
      expect(parsed).toEqual(expect.objectContaining({ subject_request_id: body.subject_request_id, status_callback_url: url, controller_id: "ctl" }));
      expect(completed.body).not.toContain(CALLBACK);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
