import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { seedShop } from "../../demo/seed";
import { startApi, type ApiHandle } from "../../workers/api";
import type { RouteEntry } from "../../src/http/input-guard";
import { createLogger } from "../../src/logger";
import { TEST_KEYS } from "../helpers/config";
import { SHOP_MAP } from "../helpers/data-maps";
import { createHarness, type LetheHarness } from "../helpers/harness";
import { createTestCa, type TestCa } from "../helpers/test-ca";

/**
 * Issue #10: the API never answers 500 to input. A seeded, bounded fuzz (loopback only, at most
 * MAX_REQUESTS) over every route the API registers — enumerated from the Fastify instance, so
 * routes added later are covered — with malformed, oversized, unicode, NUL and prototype-key
 * bodies, ids, query strings and headers. Every answer must be below 500, and every 4xx must be
 * `application/problem+json` (a person's browser on a download link gets a small HTML page).
 */

const SEED = 20261201;
const MAX_REQUESTS = 3000;

/** mulberry32: a small seeded PRNG, so a failure replays exactly. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rand = prng(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const chance = (p: number): boolean => rand() < p;
/** A version-4 UUID from the seeded generator, so a failing case replays with the same ids. */
const seededUuid = (): string => {
  const hex = Array.from({ length: 32 }, () => Math.floor(rand() * 16).toString(16)).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
};

const FIELD_NAMES = [
  "type",
  "subject",
  "dryRun",
  "ground",
  "until",
  "id",
  "email",
  "reason",
  "reasons",
  "title",
  "description",
  "kinds",
  "awareAt",
  "detectedAt",
  "occurredFrom",
  "stores",
  "systems",
  "values",
  "keys",
  "identities",
  "locale",
  "version",
  "purpose",
  "purposes",
  "changes",
  "fields",
  "decision",
  "grounds",
  "recipient",
  "note",
  "status",
  "limit",
  "before",
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
];

/** Strings that broke (or could break) something: NUL, lone surrogates, huge, SQL-ish, prototype names, non-UUID ids. */
const NASTY_STRINGS = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "\ud800",
  "x\udc00y",
  "😀".repeat(50),
  "é".repeat(400),
  "x".repeat(5000),
  "'; DROP TABLE lethe.request; --",
  '"quoted"',
  "__proto__",
  "constructor",
  "toString",
  "hasOwnProperty",
  "00000000-0000-0000-0000-00000000000g",
  "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz",
  "123456789012345678901234567890123456",
  "-1",
  "99999999999999999999999",
  "1e309",
  "NaN",
  "abc",
  "2026-13-45T99:99:99Z",
  "9999-12-31T23:59:59Z",
  "0001-01-01T00:00:00Z",
  "../../etc/passwd",
  "%00",
  "\r\nX-Injected: 1",
  "ann@example.com",
  "ANN@EXAMPLE.COM ",
  "1",
  "42",
];

const RIGHTS_TYPES = ["erasure", "export", "rectification", "restriction", "objection", "consent_withdrawal", "access", "portability", "bogus"];

function nastyValue(depth = 0): unknown {
  switch (Math.floor(rand() * (depth > 2 ? 6 : 9))) {
    case 0:
      return pick(NASTY_STRINGS);
    case 1:
      return pick([0, -1, 1.5, 2 ** 53, -(2 ** 63), 1e308, Number.MAX_SAFE_INTEGER]);
    case 2:
      return pick([true, false, null]);
    case 3:
      return pick(NASTY_STRINGS);
    case 4:
      return new Date(Math.floor(rand() * 4e12)).toISOString();
    case 5:
      return seededUuid();
    case 6:
      return Array.from({ length: Math.floor(rand() * 4) }, () => nastyValue(depth + 1));
    default:
      return nastyObject(depth + 1);
  }
}

function nastyObject(depth = 0): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const n = Math.floor(rand() * 5);
  for (let i = 0; i < n; i++) o[pick(FIELD_NAMES)] = nastyValue(depth);
  return o;
}

/** A body as text: valid-looking requests with nasty values, prototype keys, broken JSON, deep nesting, huge payloads. */
function nastyBody(): { text: string; contentType: string } {
  const json = "application/json";
  switch (Math.floor(rand() * 12)) {
    case 0:
      return {
        text: JSON.stringify({ type: pick(RIGHTS_TYPES), subject: { [pick(["id", "email", "toString", "constructor", "__proto__"])]: pick(NASTY_STRINGS) } }),
        contentType: json,
      };
    case 1:
      return {
        text: JSON.stringify({ subject: { [pick(["id", "email", "hasOwnProperty"])]: pick(NASTY_STRINGS) }, ground: pick(NASTY_STRINGS) }),
        contentType: json,
      };
    case 2:
      return { text: '{"__proto__": {"admin": true}, "type": "erasure", "subject": {"id": "1"}}', contentType: json };
    case 3:
      return { text: '{"constructor": {"prototype": {"polluted": 1}}}', contentType: json };
    case 4:
      return { text: pick(["{", "[", '{"a":', "nul", '"\\ud800"', "{}garbage", "\u0000", '{"a":"\\u0000"}']), contentType: json };
    case 5:
      return { text: "[".repeat(2000) + "]".repeat(2000), contentType: json };
    case 6:
      return { text: JSON.stringify({ values: Array.from({ length: 3000 }, () => pick(NASTY_STRINGS)) }), contentType: json };
    case 7:
      return { text: "a=1&b=2", contentType: pick(["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml"]) };
    case 8:
      return { text: JSON.stringify(nastyValue()), contentType: json };
    case 9:
      return { text: JSON.stringify(pick([[], null, 42, "string", true])), contentType: json };
    default:
      return {
        text: JSON.stringify(nastyObject()),
        contentType: pick([json, "application/json; charset=utf-8", "application/JSON", "application/problem+json"]),
      };
  }
}

/** A path parameter value: a real-looking UUID, a 36-character non-UUID, encodings that decode to NUL or nothing, long runs. */
function nastyParam(): string {
  return pick([
    seededUuid(),
    "00000000-0000-0000-0000-00000000000g",
    "123456789012345678901234567890123456",
    "abc",
    "%00",
    "%F0%9F%98%80",
    "%ED%A0%80",
    "__proto__",
    "constructor",
    "-1",
    "1",
    "x".repeat(99),
    "BR-2026-0001",
    "draft",
    "en",
    "%2e%2e",
    encode(pick(NASTY_STRINGS)),
  ]);
}

/** Percent-encodes `s`; a lone surrogate (which has no UTF-8 form) becomes the bytes a broken client would send. */
function encode(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return "%ED%A0%80";
  }
}

function fillPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, () => nastyParam()).replace(/\*$/, () => nastyParam());
}

function nastyQuery(): string {
  if (chance(0.5)) return "";
  const parts = Array.from(
    { length: 1 + Math.floor(rand() * 3) },
    () => `${pick(FIELD_NAMES.concat(["token", "status", "limit", "format"]))}=${encode(String(nastyValue(3)))}`,
  );
  if (chance(0.2)) parts.push("limit=%00", "before=notadate", "status=%ED%A0%80");
  return `?${parts.join("&")}`;
}

const API_KEYS = `app:${TEST_KEYS.writer}:requests.write|requests.read;ro:${TEST_KEYS.reader}:requests.read;ops:${TEST_KEYS.admin}:admin`;

/** Mostly the admin key (so the fuzz reaches every handler), sometimes a weaker, wrong or malformed credential. */
function nastyHeaders(contentType: string | null): Record<string, string> {
  const h: Record<string, string> = {};
  if (chance(0.85)) h.authorization = `Bearer ${TEST_KEYS.admin}`;
  else {
    const key = pick([TEST_KEYS.writer, TEST_KEYS.reader, "not-a-key", ""]);
    if (key) h.authorization = pick([`Bearer ${key}`, `bearer  ${key}`, `Basic ${Buffer.from(`x:${key}`).toString("base64")}`, `Token ${key}`, "Bearer"]);
  }
  if (contentType) h["content-type"] = contentType;
  if (chance(0.2)) h["idempotency-key"] = pick(["k1", "é", "x".repeat(300), " ", seededUuid()]);
  if (chance(0.15)) h.accept = pick(["text/html", "application/json", "*/*", "text/html,application/xhtml+xml"]);
  if (chance(0.1)) h.origin = pick(["http://evil.example", "null"]);
  return h;
}

interface Outcome {
  method: string;
  route: string;
  path: string;
  status: number;
  contentType: string;
  body: string;
}

function send(base: URL, method: string, path: string, headers: Record<string, string>, body: string | null): Promise<Outcome & { route: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: base.hostname,
        port: base.port,
        method,
        path,
        headers: body === null ? headers : { ...headers, "content-length": String(Buffer.byteLength(body)) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            method,
            route: "",
            path,
            status: res.statusCode ?? 0,
            contentType: String(res.headers["content-type"] ?? ""),
            body: Buffer.concat(chunks).toString("utf8").slice(0, 300),
          }),
        );
      },
    );
    req.on("error", reject);
    if (body !== null) req.write(body);
    req.end();
  });
}

/** Sends raw bytes (what an HTTP client would refuse to send) and reads the status line and content type. */
function sendRaw(base: URL, raw: string): Promise<{ status: number; contentType: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(base.port), base.hostname);
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", (err: NodeJS.ErrnoException) => (err.code === "ECONNRESET" || err.code === "EPIPE" ? undefined : reject(err)));
    socket.on("close", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      const contentType = /\r\ncontent-type: *([^\r\n]*)/i.exec(text)?.[1] ?? "";
      resolve({ status, contentType, body: text.slice(text.indexOf("\r\n\r\n") + 4, 400) });
    });
    socket.write(raw, () => socket.end());
  });
}

describe("API fuzz (issue #10)", () => {
  let h: LetheHarness;
  let api: ApiHandle;
  let ca: TestCa | undefined;

  beforeAll(async () => {
    // OpenDSR configured, so its routes are fuzzed past the "not configured" 404.
    ca = createTestCa();
    const cert = ca.issue("fuzz.lethe.test");
    h = await createHarness({
      map: SHOP_MAP,
      prepare: (url) => seedShop(url, { customers: 20 }).then(() => undefined),
      // The dashboard's write routes are fuzzed too (Bearer requests pass its same-origin rule).
      env: {
        LETHE_API_KEYS: API_KEYS,
        LETHE_DASHBOARD_WRITE: "true",
        LETHE_OPENDSR_KEY_FILE: cert.keyFile,
        LETHE_OPENDSR_CERT_FILE: cert.certFile,
        LETHE_OPENDSR_DOMAIN: "fuzz.lethe.test",
      },
    });
    api = await startApi({ ...h.config, port: 0 }, { logger: createLogger("silent"), dataMap: h.dataMap, handleSignals: false });
  }, 120_000);

  afterAll(async () => {
    await api?.close();
    await h?.cleanup();
    ca?.cleanup();
  });

  it("answers every malformed request below 500, and every 4xx as problem+json", async () => {
    const base = new URL(api.url);
    const routes: RouteEntry[] = api.app.routeTable;
    expect(routes.length).toBeGreaterThan(40);
    const outcomes: Outcome[] = [];
    const record = (o: Outcome): void => {
      outcomes.push(o);
    };

    // Raw requests Node's parser or Fastify's router refuse before any route runs.
    const raws = [
      `GET /v1/requests/${"a".repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      `GET /v1/requests/x HTTP/1.1\r\nHost: x\r\nX-Big: ${"b".repeat(20_000)}\r\n\r\n`,
      `GET /v1/requests/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      `GET /v1/requests/${"c".repeat(150)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      `BREW /v1/requests HTTP/1.1\r\nHost: x\r\n\r\n`,
      `GET /v1/requests HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n`,
      `POST /v1/requests HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n`,
      `POST /v1/requests HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n`,
      `GET /v1/requests/\u0000 HTTP/1.1\r\nHost: x\r\n\r\n`,
      `GET /v1/requests HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\u0000b\r\n\r\n`,
    ];
    for (const raw of raws) {
      const r = await sendRaw(base, raw);
      record({ method: "RAW", route: "(raw)", path: raw.slice(0, 60), ...r });
    }

    // The budget spread evenly, so routes added later dilute the cases rather than go unfuzzed.
    const casesPerRoute = Math.floor((MAX_REQUESTS - outcomes.length) / routes.length);
    expect(casesPerRoute).toBeGreaterThanOrEqual(10);
    for (const route of routes) {
      for (let i = 0; i < casesPerRoute; i++) {
        const path = (route.url === "/*" || route.url.endsWith("*") ? route.url.replace("*", nastyParam()) : fillPath(route.url)) + nastyQuery();
        const hasBody = route.method !== "GET" && route.method !== "DELETE" && route.method !== "HEAD" && route.method !== "OPTIONS";
        const body = hasBody && chance(0.9) ? nastyBody() : null;
        const method = chance(0.03) ? pick(["PUT", "PATCH", "OPTIONS", "DELETE"]) : route.method;
        const o = await send(base, method, path, nastyHeaders(body?.contentType ?? null), body?.text ?? null);
        record({ ...o, route: `${route.method} ${route.url}` });
      }
    }
    expect(outcomes.length).toBeLessThanOrEqual(MAX_REQUESTS);

    const serverErrors = outcomes.filter((o) => o.status >= 500 || o.status === 0);
    const notProblems = outcomes.filter(
      (o) =>
        o.status >= 400 &&
        o.status < 500 &&
        !o.contentType.startsWith("application/problem+json") &&
        // A person's browser on a bad download link gets a small HTML page instead.
        !(o.route.includes("/download") && o.contentType.startsWith("text/html")),
    );
    const tally: Record<string, number> = {};
    for (const o of outcomes) tally[o.status] = (tally[o.status] ?? 0) + 1;
    process.stdout.write(`fuzz: seed ${SEED}, ${outcomes.length} requests over ${routes.length} routes: ${JSON.stringify(tally)}\n`);
    expect(serverErrors.map((o) => `${o.status} ${o.method} ${o.route} ${o.path} ${o.body}`)).toEqual([]);
    expect(notProblems.map((o) => `${o.status} ${o.contentType} ${o.method} ${o.route} ${o.path} ${o.body}`)).toEqual([]);
  }, 300_000);
});
