import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { signLethePayload, verifyLetheSignature } from "../../src/webhook/verify-signature";
import { trackHandle } from "./open-handles";

/**
 * The one fake third-party processor of the tests: a real node:http server on 127.0.0.1 that
 * verifies every call with `verifyLetheSignature` (401 when it fails) and keeps every call. An
 * erase call (a signed POST of `{"action":"erase",…}`) is handled the way
 * docs/webhook-protocol.md asks of a processor: it needs an Idempotency-Key (400 without), a
 * repeated key is answered as the first time without erasing again, and the first 2xx erases
 * the subject from the processor's `records` and may call back. Every other call (status polls,
 * an application's event endpoint) gets whatever `answer` says.
 */

/** The body of an erase call, as Lethe sends it. */
export interface EraseCallBody {
  action: string;
  requestId: string;
  subject: Record<string, string>;
  callbackUrl: string;
}

/** One HTTP call the processor received. */
export interface ReceivedCall {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: string;
  /** The body parsed as JSON (null when it is not JSON). */
  body: EraseCallBody | null;
  idempotencyKey: string | undefined;
  signatureValid: boolean;
}

/**
 * What the processor answers: a status (and JSON body), or never (`hang`, until it closes). With
 * a 202 to an erase call, `callBackAfterMs` makes it call back `{"status":"done"}` that much later.
 */
export type Answer = { status: number; json?: unknown; callBackAfterMs?: number } | { hang: true };

/** Decides (possibly slowly) the answer to a call. */
export type Behaviour = (call: ReceivedCall) => Answer | Promise<Answer>;

/** A callback the processor sent to Lethe, kept so a test can replay it byte for byte. */
export interface SentCallback {
  url: string;
  headers: Record<string, string>;
  rawBody: string;
  status: number;
}

/** How {@link startFakeProcessor} sets the processor up. */
export interface FakeProcessorOptions {
  /** For messages (Default: `processor`). */
  name?: string;
  /** The signing secret it shares with the data map. */
  secret: string;
  /** (Default: 200 to everything) */
  answer?: Behaviour;
  /** (Default: any free port) */
  port?: number;
  /** False: the port is fixed but nothing listens until `listen()` (connection refused). (Default: true) */
  listen?: boolean;
  /** Path of {@link FakeProcessor.url} (Default: `/gdpr/erase`). */
  path?: string;
}

/** A running fake processor. */
export interface FakeProcessor {
  name: string;
  secret: string;
  port: number;
  /** `http://127.0.0.1:<port>` */
  base: string;
  /** The erase endpoint, for the data map: `base` + the path. */
  url: string;
  /** Every HTTP call received, in order (including repeats of one key). */
  calls: ReceivedCall[];
  /** Idempotency keys of the erasures it actually performed (a 2xx it gave the first time). */
  erasures: string[];
  /** The subjects (identity values) it holds. */
  records: Set<string>;
  callbacks: SentCallback[];
  /** Decides the answer to each call; may be replaced between steps. */
  answer: Behaviour;
  /** Starts listening (on the port fixed at creation) when created with `listen: false`. */
  listen(): Promise<void>;
  /** Calls back for `call` (signed with the processor's secret unless `secret` is given). */
  callBack(call: ReceivedCall, body?: Record<string, unknown>, opts?: { secret?: string }): Promise<SentCallback>;
  /** Sends a callback again exactly as it was sent (same timestamp, signature, body). */
  replay(cb: SentCallback): Promise<number>;
  /** Calls received for one request. */
  callsFor(requestId: string): ReceivedCall[];
  /** Erasures it performed for one request. */
  erasuresFor(requestId: string): string[];
  /** Stops listening, drops hanging calls and cancels callbacks not yet sent. */
  close(): Promise<void>;
}

type Reply = Exclude<Answer, { hang: true }>;

/** Starts a fake processor (see the module comment). */
export async function startFakeProcessor(opts: FakeProcessorOptions): Promise<FakeProcessor> {
  const name = opts.name ?? "processor";
  const open = new Set<ServerResponse>();
  const inflight = new Map<string, Promise<Answer>>();
  const completed = new Map<string, Reply>();
  const timers = new Set<NodeJS.Timeout>();
  let forget: (() => void) | undefined;

  const sendCallback = async (url: string, rawBody: string, headers: Record<string, string>): Promise<SentCallback> => {
    const res = await fetch(url, { method: "POST", headers, body: rawBody });
    await res.arrayBuffer();
    const sent = { url, headers, rawBody, status: res.status };
    p.callbacks.push(sent);
    return sent;
  };

  const reply = (res: ServerResponse, a: Reply): void => {
    if (res.destroyed) return;
    if (a.json === undefined) res.writeHead(a.status).end();
    else res.writeHead(a.status, { "content-type": "application/json" }).end(JSON.stringify(a.json));
  };

  const erase = async (call: ReceivedCall & { body: EraseCallBody }, key: string): Promise<Answer> => {
    const done = completed.get(key);
    if (done) return done; // a retry: answered as the first time, nothing erased again
    let pending = inflight.get(key);
    if (!pending) {
      pending = Promise.resolve(p.answer(call));
      inflight.set(key, pending);
    }
    const a = await pending.finally(() => inflight.delete(key));
    if ("hang" in a || completed.has(key) || a.status < 200 || a.status >= 300) return a;
    completed.set(key, a);
    p.erasures.push(key);
    for (const v of Object.values(call.body.subject)) p.records.delete(v);
    if (a.status === 202 && a.callBackAfterMs !== undefined) {
      const t = setTimeout(() => {
        timers.delete(t);
        void p.callBack(call).catch(() => undefined);
      }, a.callBackAfterMs);
      timers.add(t);
    }
    return a;
  };

  const handle = async (call: ReceivedCall, res: ServerResponse): Promise<void> => {
    if (!call.signatureValid) return reply(res, { status: 401 });
    let a: Answer;
    if (call.method === "POST" && call.body?.action === "erase") {
      if (!call.idempotencyKey) return reply(res, { status: 400 });
      a = await erase(call as ReceivedCall & { body: EraseCallBody }, call.idempotencyKey);
    } else {
      a = await p.answer(call);
    }
    if (!("hang" in a)) reply(res, a);
  };

  const server: Server = createServer((req, res) => {
    open.add(res);
    res.on("close", () => open.delete(res));
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const rawBody = Buffer.concat(chunks).toString("utf8");
      const header = (h: string) => (typeof req.headers[h] === "string" ? (req.headers[h] as string) : undefined);
      let body: EraseCallBody | null = null;
      try {
        body = JSON.parse(rawBody) as EraseCallBody;
      } catch {
        body = null;
      }
      const call: ReceivedCall = {
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        rawBody,
        body,
        idempotencyKey: header("idempotency-key"),
        signatureValid: verifyLetheSignature({ secret: opts.secret, timestamp: header("lethe-timestamp"), signature: header("lethe-signature"), rawBody }),
      };
      p.calls.push(call);
      handle(call, res).catch(() => {
        if (!res.destroyed) res.writeHead(500).end();
      });
    });
  });

  const listen = async (port: number): Promise<number> => {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    const bound = (server.address() as AddressInfo).port;
    forget = trackHandle("fake processor", `${name} on port ${bound}`);
    return bound;
  };

  let port = opts.port ?? 0;
  if (opts.listen ?? true) port = await listen(port);
  else if (port === 0) throw new Error("a processor created without listening needs a fixed port");

  const base = `http://127.0.0.1:${port}`;
  const p: FakeProcessor = {
    name,
    secret: opts.secret,
    port,
    base,
    url: `${base}${opts.path ?? "/gdpr/erase"}`,
    calls: [],
    erasures: [],
    records: new Set(),
    callbacks: [],
    answer: opts.answer ?? (() => ({ status: 200 })),
    async listen() {
      if (!forget) await listen(port);
    },
    async callBack(call, body = { status: "done" }, o = {}) {
      if (!call.body) throw new Error("the call has no body to call back for");
      const rawBody = JSON.stringify(body);
      const ts = Math.floor(Date.now() / 1000);
      const headers = {
        "content-type": "application/json",
        "lethe-timestamp": String(ts),
        "lethe-signature": signLethePayload(o.secret ?? opts.secret, rawBody, ts),
      };
      return sendCallback(call.body.callbackUrl, rawBody, headers);
    },
    async replay(cb) {
      return (await sendCallback(cb.url, cb.rawBody, cb.headers)).status;
    },
    callsFor: (requestId) => p.calls.filter((c) => c.body?.requestId === requestId),
    erasuresFor: (requestId) => p.erasures.filter((k) => k.startsWith(`erase-${requestId}-`)),
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      if (!forget) return;
      for (const res of open) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      forget();
      forget = undefined;
    },
  };
  return p;
}
