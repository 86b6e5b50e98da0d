import { SMTPServer, type SMTPServerAddress } from "smtp-server";
import { freePort } from "../../support/free-port";
import { trackHandle } from "../helpers/open-handles";

/**
 * A fast SMTP sink for fan-outs of thousands of notices: a real SMTP server (smtp-server) that
 * keeps, per accepted message, only its recipients and two headers read from the raw head
 * (`X-Lethe-Notification-Id`, `Content-Language`) — no MIME parsing. It can refuse chosen
 * recipients (5xx) and throttle (answer 421 to the first N RCPTs).
 */

/** One accepted message. */
export interface SunkMessage {
  to: string[];
  notificationId: string | null;
  language: string | null;
  raw: string;
}

/** Options of {@link startNoticeSink}. */
export interface NoticeSinkOptions {
  port?: number;
  /** The reply code for a recipient (e.g. 550), or null to accept. */
  refuse?: (address: string) => number | null;
  /** Answer 421 to this many RCPT commands first (throttling), then accept. */
  throttleFirst?: number;
  /** Keep the raw message (Default: false; set for content checks on small fan-outs). */
  keepRaw?: boolean;
}

/** The running sink. */
export interface NoticeSink {
  port: number;
  url: string;
  messages: SunkMessage[];
  /** Copies received per notification id. */
  countsById(): Map<string, number>;
  /** RCPT commands answered 421. */
  throttled: number;
  /** Resolves once `n` messages have arrived. */
  waitFor(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const header = (head: string, name: string): string | null => {
  const m = new RegExp(`^${name}:[ \\t]*(.+)$`, "im").exec(head);
  return m ? m[1]!.trim() : null;
};

/** Starts the sink on 127.0.0.1. */
export async function startNoticeSink(options: NoticeSinkOptions = {}): Promise<NoticeSink> {
  const messages: SunkMessage[] = [];
  const waiters: Array<() => void> = [];
  let throttled = 0;
  const server = new SMTPServer({
    authOptional: true,
    hideSTARTTLS: true,
    disabledCommands: ["AUTH"],
    logger: false,
    closeTimeout: 100,
    maxClients: 200,
    onRcptTo(address: SMTPServerAddress, _session, callback) {
      if (options.throttleFirst !== undefined && throttled < options.throttleFirst) {
        throttled++;
        callback(Object.assign(new Error("421 4.7.0 Too many messages, slow down"), { responseCode: 421 }));
        return;
      }
      const code = options.refuse?.(address.address) ?? null;
      if (code !== null) {
        callback(Object.assign(new Error(`${code} 5.1.1 <${address.address}>: mailbox unavailable`), { responseCode: code }));
        return;
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        const end = raw.indexOf("\r\n\r\n");
        const head = (end === -1 ? raw : raw.slice(0, end)).replace(/\r\n[ \t]+/g, " ");
        messages.push({
          to: session.envelope.rcptTo.map((r) => r.address),
          notificationId: header(head, "X-Lethe-Notification-Id"),
          language: header(head, "Content-Language"),
          raw: options.keepRaw ? raw : "",
        });
        for (const w of waiters.splice(0)) w();
        callback();
      });
    },
  });
  const port = options.port ?? (await freePort());
  await new Promise<void>((res, rej) => {
    server.once("error", rej);
    server.listen(port, "127.0.0.1", () => res());
  });
  // A client killed mid-conversation resets its connection; that is the test's doing, not a failure.
  server.on("error", () => undefined);
  const forget = trackHandle("notice sink", `on port ${port}`);
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    get throttled() {
      return throttled;
    },
    countsById() {
      const counts = new Map<string, number>();
      for (const m of messages) if (m.notificationId) counts.set(m.notificationId, (counts.get(m.notificationId) ?? 0) + 1);
      return counts;
    },
    async waitFor(n, timeoutMs = 60_000) {
      if (messages.length >= n) return;
      await new Promise<void>((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`timed out waiting for ${n} message(s); got ${messages.length}`)), timeoutMs);
        const check = (): void => {
          if (messages.length < n) return void waiters.push(check);
          clearTimeout(timer);
          res();
        };
        waiters.push(check);
      });
    },
    async close() {
      await new Promise<void>((res) => server.close(() => res()));
      forget();
    },
  };
}
