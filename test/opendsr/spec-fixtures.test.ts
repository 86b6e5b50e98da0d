import { readFileSync } from "node:fs";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { CREATED_BODY_SCHEMA, DISCOVERY_SCHEMA, ERROR_BODY_SCHEMA, REQUEST_BODY_SCHEMA, STATUS_BODY_SCHEMA } from "../../src/opendsr/protocol";
import { privateKeyOf, signBody, trustedLeaf, verifyBody } from "../../src/opendsr/signature";
import { subjectRequestIdOf } from "../../src/stores/opendsr/adapter";
import { UUID_V4 } from "../../src/opendsr/protocol";
import { createTestCa, type TestCa } from "../helpers/test-ca";

/** The specification's own JSON examples parse and validate; signatures and certificate chains behave as §4 says. */
jest.setTimeout(60_000);

const fixture = (name: string): unknown => JSON.parse(readFileSync(join(__dirname, "..", "fixtures", "opendsr", name), "utf8"));

describe("the OpenDSR specification's examples", () => {
  it("validate against Lethe's schemas", () => {
    expect(DISCOVERY_SCHEMA.parse(fixture("discovery-response.json")).supported_identities).toHaveLength(2);
    const request = REQUEST_BODY_SCHEMA.parse(fixture("request.json"));
    expect(request.subject_request_type).toBe("erasure");
    expect(request.subject_identities![0]!.identity_type).toBe("email");
    expect(CREATED_BODY_SCHEMA.parse(fixture("request-response.json")).controller_id).toBe("example_controller_id");
    expect(ERROR_BODY_SCHEMA.parse(fixture("error-response.json")).error.code).toBe(400);
    expect(STATUS_BODY_SCHEMA.parse(fixture("status-response.json")).results_count).toBe(103);
    expect(STATUS_BODY_SCHEMA.parse(fixture("callback.json")).status_callback_url).toBe("https://examplecontroller.com/opendsr/callbacks");
    const cancel = fixture("cancel-response.json") as Record<string, unknown>;
    expect(cancel.subject_request_id).toMatch(UUID_V4);
  });

  it("refuse what the specification forbids", () => {
    const request = fixture("request.json") as Record<string, unknown>;
    expect(REQUEST_BODY_SCHEMA.safeParse({ ...request, subject_request_id: "A7551968-D5D6-44B2-9831-815AC9017798" }).success).toBe(false);
    expect(REQUEST_BODY_SCHEMA.safeParse({ ...request, subject_request_type: "rectification" }).success).toBe(false);
    expect(REQUEST_BODY_SCHEMA.safeParse({ ...request, submitted_time: "yesterday" }).success).toBe(false);
    const { subject_request_id: _omitted, ...rest } = request;
    expect(REQUEST_BODY_SCHEMA.safeParse(rest).success).toBe(false);
  });
});

describe("signatures and certificates", () => {
  let ca: TestCa;
  let other: TestCa;
  beforeAll(() => {
    ca = createTestCa();
    other = createTestCa("Other CA");
  });
  afterAll(() => {
    ca.cleanup();
    other.cleanup();
  });

  it("verify the exact body only", () => {
    const leaf = ca.issue("processor.example.test");
    const cert = trustedLeaf(leaf.certPem, "processor.example.test", { ca: ca.caPem });
    const body = JSON.stringify(fixture("status-response.json"));
    const signature = signBody(privateKeyOf(leaf.keyPem), body);
    expect(verifyBody(cert, body, signature)).toBe(true);
    expect(verifyBody(cert, body.replace("pending", "completed"), signature)).toBe(false);
    expect(verifyBody(cert, body, `${signature.slice(0, -4)}AAA=`)).toBe(false);
    expect(verifyBody(cert, body, "not base64 at all!")).toBe(false);
  });

  it("chain to the configured authority for the right domain, never self-signed unless allowed", () => {
    const leaf = ca.issue("processor.example.test");
    expect(() => trustedLeaf(leaf.certPem, "other.example.test", { ca: ca.caPem })).toThrow(/not issued for other\.example\.test/);
    expect(() => trustedLeaf(leaf.certPem, "processor.example.test", { ca: other.caPem })).toThrow(/does not chain/);
    // Node's bundled roots do not know the test CA.
    expect(() => trustedLeaf(leaf.certPem, "processor.example.test")).toThrow(/does not chain/);
    const self = ca.selfSigned("processor.example.test");
    expect(() => trustedLeaf(self.certPem, "processor.example.test", { ca: ca.caPem })).toThrow(/self-signed/);
    expect(trustedLeaf(self.certPem, "processor.example.test", { allowSelfSigned: true })).toBeInstanceOf(X509Certificate);
    expect(() => trustedLeaf(leaf.certPem, "processor.example.test", { ca: ca.caPem, now: new Date(Date.now() + 5 * 86_400_000) })).toThrow(/not valid now/);
  });

  it("derive one lowercase UUID v4 per request and store", () => {
    const key = Buffer.alloc(32, 7);
    const a = subjectRequestIdOf(key, "5f1a1a52-2a4c-4e8a-9a55-0a2c7c3d9e10", "proc");
    expect(a).toMatch(UUID_V4);
    expect(subjectRequestIdOf(key, "5f1a1a52-2a4c-4e8a-9a55-0a2c7c3d9e10", "proc")).toBe(a);
    expect(subjectRequestIdOf(key, "5f1a1a52-2a4c-4e8a-9a55-0a2c7c3d9e10", "other")).not.toBe(a);
  });
});
