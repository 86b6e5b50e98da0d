import { SMTPServer } from "smtp-server";
import type { DemoContext } from "./context";

/** One message the demo's SMTP catcher received. */
export interface Caught {
  to: string[];
  raw: string;
}

const catchers = new WeakMap<DemoContext, Promise<Caught[]>>();

/**
 * The demo's SMTP catcher where the worker's SMTP_URL points (the stand-in for the people's
 * mailboxes), started by the first section that needs it and shared by the others; closed at
 * tear-down. Returns the list every received message is appended to.
 */
export function catcherOf(ctx: DemoContext): Promise<Caught[]> {
  let started = catchers.get(ctx);
  if (!started) {
    started = startCatcher(ctx);
    catchers.set(ctx, started);
  }
  return started;
}

async function startCatcher(ctx: DemoContext): Promise<Caught[]> {
  const url = new URL(ctx.config.smtpUrl);
  const caught: Caught[] = [];
  const server = new SMTPServer({
    authOptional: true,
    hideSTARTTLS: true,
    disabledCommands: ["AUTH"],
    logger: false,
    closeTimeout: 100,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        caught.push({ to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString("utf8") });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(Number(url.port), url.hostname, resolve);
  });
  ctx.onTearDown("stop the SMTP catcher", async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return "stopped the SMTP catcher";
  });
  return caught;
}
