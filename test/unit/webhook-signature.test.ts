import { createHmac } from "node:crypto";
import { signLethePayload, verifyLetheSignature } from "../../src/index";

const SECRET = "whsec-0123456789abcdef";
const BODY = '{"status":"done"}';
const NOW = 1_764_000_000_000;
const TS = NOW / 1000;

describe("signLethePayload / verifyLetheSignature", () => {
  it('signs v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>', () => {
    const expected = createHmac("sha256", SECRET).update(`${TS}.${BODY}`).digest("hex");
    expect(signLethePayload(SECRET, BODY, TS)).toBe(`v1=${expected}`);
    expect(signLethePayload(SECRET, Buffer.from(BODY), String(TS))).toBe(`v1=${expected}`);
  });

  it("accepts a fresh, matching signature (string or Buffer body, upper-case hex, several entries)", () => {
    const sig = signLethePayload(SECRET, BODY, TS);
    expect(verifyLetheSignature({ secret: SECRET, timestamp: String(TS), signature: sig, rawBody: BODY, now: NOW })).toBe(true);
    expect(verifyLetheSignature({ secret: SECRET, timestamp: TS, signature: sig, rawBody: Buffer.from(BODY), now: NOW + 299_000 })).toBe(true);
    expect(verifyLetheSignature({ secret: SECRET, timestamp: TS, signature: `v1=${sig.slice(3).toUpperCase()}`, rawBody: BODY, now: NOW })).toBe(true);
    const rotated = `${signLethePayload("old-secret-0123456789", BODY, TS)}, ${sig}`;
    expect(verifyLetheSignature({ secret: SECRET, timestamp: TS, signature: rotated, rawBody: BODY, now: NOW })).toBe(true);
  });

  it("refuses another body, secret or timestamp, a stale or future timestamp, and malformed headers", () => {
    const sig = signLethePayload(SECRET, BODY, TS);
    const base = { secret: SECRET, timestamp: TS, signature: sig, rawBody: BODY, now: NOW };
    expect(verifyLetheSignature({ ...base, rawBody: '{"status":"failed"}' })).toBe(false);
    expect(verifyLetheSignature({ ...base, rawBody: `${BODY} ` })).toBe(false);
    expect(verifyLetheSignature({ ...base, secret: "another-secret-0123456" })).toBe(false);
    expect(verifyLetheSignature({ ...base, timestamp: TS + 1, now: NOW + 1000 })).toBe(false);
    expect(verifyLetheSignature({ ...base, now: NOW + 301_000 })).toBe(false);
    expect(verifyLetheSignature({ ...base, now: NOW - 301_000 })).toBe(false);
    expect(verifyLetheSignature({ ...base, now: NOW + 30_000, toleranceSec: 10 })).toBe(false);
    expect(verifyLetheSignature({ ...base, timestamp: undefined })).toBe(false);
    expect(verifyLetheSignature({ ...base, timestamp: "17e8" })).toBe(false);
    expect(verifyLetheSignature({ ...base, signature: undefined })).toBe(false);
    expect(verifyLetheSignature({ ...base, signature: sig.slice(3) })).toBe(false);
    expect(verifyLetheSignature({ ...base, signature: `v0=${sig.slice(3)}` })).toBe(false);
    expect(verifyLetheSignature({ ...base, signature: sig.slice(0, -2) })).toBe(false);
    expect(verifyLetheSignature({ ...base, secret: "" })).toBe(false);
  });
});
