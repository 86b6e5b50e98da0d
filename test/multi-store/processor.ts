import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { signLethePayload, verifyLetheSignature } from "../../src/webhook/verify-signature";

/**
 * A fake third-party processor for the multi-store tests: a real node:http server on 127.0.0.1
 * that verifies every call with `verifyLetheSignature`, keeps its own "database" of subjects (by
 * email), and dedupes erase calls on their Idempotency-Key the way docs/webhook-protocol.md asks:
 * a repeated key is answered as the first time and erases nothing again.
 */

/** One HTTP call the processor received. */
export interface ReceivedCall {
  idempotencyKey: string | undefined;
  signatureValid: boolean;
  rawBody: string;
  body: { action: string; requestId: string; subject: Record<string, string>; callbackUrl: string } | null;
}

/** What the processor answers an erase call it has not completed before. */
export interface Reply {
  status: number;
  /** With a 202: call back `{"status":"done"}` through the callback URL after this many ms. Without: the test calls back itself. */
  callBackAfterMs?: number;
}

/** Decides (possibly slowly) the answer to a new erase call. */
export type Behaviour = (call: ReceivedCall) => Reply | Promise<Reply>;

/** A callback the processor sent to Lethe, kept so a test can replay it byte for byte. */
export interface SentCallback {
  url: string;
  headers: Record<string, string>;
  rawBody: string;
  status: number;
}

/** A running fake processor. */
export interface FakeProcessor {
  name: string;
  secret: string;
  port: number;
  url: string;
  /** Every HTTP call received, in order (including repeats of one key). */
  calls: ReceivedCall[];
  /** Idempotency keys of the erasures it actually performed (a 2xx it gave the first time). */
  erasures: string[];
  /** The subjects (emails) it holds. */
  records: Set<string>;
  callbacks: SentCallback[];
  behaviour: Behaviour;
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
  close(): Promise<void>;
}

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Creates a processor; it listens at once unless `listen` is false (then its port is free until `listen()`). */
export async function startFakeProcessor(opts: {
  name: string;
  secret: string;
  behaviour?: Behaviour;
  port?: number;
  listen?: boolean;
}): Promise<FakeProcessor> {
  const open = new Set<ServerResponse>();
  const inflight = new Map<string, Promise<Reply>>();
  const completed = new Map<string, Reply>();
  let listening = false;

  const sendCallback = async (url: string, rawBody: string, headers: Record<string, string>): Promise<SentCallback> => {
    const res = await fetch(url, { method: "POST", headers, body: rawBody });
    await res.arrayBuffer();
    const sent = { url, headers, rawBody, status: res.status };
    p.callbacks.push(sent);
    return sent;
  };

  const handle = async (call: ReceivedCall, res: ServerResponse): Promise<void> => {
    const answer = (status: number) => {
      if (!res.destroyed) res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ ok: status < 300 }));
    };
    if (!call.signatureValid || !call.body || call.body.action !== "erase" || !call.idempotencyKey) return answer(call.signatureValid ? 400 : 401);
    const key = call.idempotencyKey;
    const done = completed.get(key);
    if (done) return answer(done.status); // a retry: answered as the first time, nothing erased again
    let pending = inflight.get(key);
    if (!pending) {
      pending = Promise.resolve(p.behaviour(call));
      inflight.set(key, pending);
    }
    const reply = await pending.finally(() => inflight.delete(key));
    if (!completed.has(key) && reply.status >= 200 && reply.status < 300) {
      completed.set(key, reply);
      p.erasures.push(key);
      for (const v of Object.values(call.body.subject)) p.records.delete(v);
      if (reply.status === 202 && reply.callBackAfterMs !== undefined) {
        const body = call.body;
        setTimeout(() => void p.callBack({ ...call, body }).catch(() => undefined), reply.callBackAfterMs);
      }
    }
    answer(reply.status);
  };

  const server: Server = createServer((req, res) => {
    open.add(res);
    res.on("close", () => open.delete(res));
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const rawBody = Buffer.concat(chunks).toString("utf8");
      const header = (name: string) => (typeof req.headers[name] === "string" ? (req.headers[name] as string) : undefined);
      let body: ReceivedCall["body"] = null;
      try {
        body = JSON.parse(rawBody) as ReceivedCall["body"];
      } catch {
        body = null;
      }
      const call: ReceivedCall = {
        idempotencyKey: header("idempotency-key"),
        signatureValid: verifyLetheSignature({ secret: opts.secret, timestamp: header("lethe-timestamp"), signature: header("lethe-signature"), rawBody }),
        rawBody,
        body,
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
    listening = true;
    return (server.address() as AddressInfo).port;
  };

  let port = opts.port ?? 0;
  if (opts.listen ?? true) port = await listen(port);
  else if (port === 0) throw new Error("a processor created without listening needs a fixed port");

  const p: FakeProcessor = {
    name: opts.name,
    secret: opts.secret,
    port,
    url: `http://127.0.0.1:${port}/gdpr/erase`,
    calls: [],
    erasures: [],
    records: new Set(),
    callbacks: [],
    behaviour: opts.behaviour ?? (() => ({ status: 200 })),
    async listen() {
      if (!listening) await listen(port);
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
      if (!listening) return;
      listening = false;
      for (const res of open) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  return p;
}
