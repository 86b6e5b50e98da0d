import { simpleParser, type ParsedMail } from "mailparser";
import { SMTPServer, type SMTPServerAddress } from "smtp-server";
import { freePort } from "../../support/free-port";
import { trackHandle } from "./open-handles";

/** A message the catcher accepted: the envelope and the parsed message. */
export interface CaughtMail {
  from: string;
  to: string[];
  raw: string;
  parsed: ParsedMail;
}

/** A real SMTP server in this process (nodemailer's smtp-server) that keeps what it receives. */
export interface SmtpCatcher {
  port: number;
  url: string;
  messages: CaughtMail[];
  /** RCPT TO attempts, accepted or refused. */
  rcptAttempts: number;
  /** Every RCPT TO address, in order. */
  rcpts: string[];
  /** Resolves once `n` messages have arrived. */
  waitForMessages(n: number, timeoutMs?: number): Promise<CaughtMail[]>;
  close(): Promise<void>;
}

/** Options of {@link startSmtpCatcher}. */
export interface SmtpCatcherOptions {
  /** Listen here (Default: a free port). */
  port?: number;
  /** Answer RCPT TO with this reply code (e.g. 550, 451) instead of accepting. */
  rejectRcpt?: number;
  /** Only the first N RCPT TO get `rejectRcpt`; later ones are accepted. (Default: all) */
  rejectFirst?: number;
}

/** Starts the catcher on 127.0.0.1 (no TLS, no auth). */
export async function startSmtpCatcher(options: SmtpCatcherOptions = {}): Promise<SmtpCatcher> {
  const messages: CaughtMail[] = [];
  const waiters: Array<() => void> = [];
  let rcptAttempts = 0;
  const rcpts: string[] = [];
  const server = new SMTPServer({
    authOptional: true,
    hideSTARTTLS: true,
    disabledCommands: ["AUTH"],
    logger: false,
    // Clients (nodemailer's pool) keep idle connections; do not wait for them on close.
    closeTimeout: 100,
    onRcptTo(address: SMTPServerAddress, _session, callback) {
      rcptAttempts++;
      rcpts.push(address.address);
      if (options.rejectRcpt && (options.rejectFirst === undefined || rcptAttempts <= options.rejectFirst)) {
        const err = Object.assign(new Error(`${options.rejectRcpt} <${address.address}>: recipient refused`), { responseCode: options.rejectRcpt });
        callback(err);
        return;
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        simpleParser(raw).then(
          (parsed) => {
            messages.push({
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
              to: session.envelope.rcptTo.map((r) => r.address),
              raw,
              parsed,
            });
            for (const w of waiters.splice(0)) w();
            callback();
          },
          (err: Error) => callback(err),
        );
      });
    },
  });
  const port = options.port ?? (await freePort());
  await new Promise<void>((res, rej) => {
    server.once("error", rej);
    server.listen(port, "127.0.0.1", () => res());
  });
  const forget = trackHandle("SMTP catcher", `on port ${port}`);
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    rcpts,
    get rcptAttempts() {
      return rcptAttempts;
    },
    async waitForMessages(n, timeoutMs = 30_000) {
      if (messages.length < n) {
        await new Promise<void>((res, rej) => {
          const timer = setTimeout(() => rej(new Error(`timed out waiting for ${n} message(s); got ${messages.length}`)), timeoutMs);
          const check = (): void => {
            if (messages.length < n) return void waiters.push(check);
            clearTimeout(timer);
            res();
          };
          waiters.push(check);
        });
      }
      return messages.slice(0, n);
    },
    async close() {
      await new Promise<void>((res) => server.close(() => res()));
      forget();
    },
  };
}
