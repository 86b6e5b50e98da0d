/**
 * A fast SMTP sink for `bench:breach`, run as its own process (so the sink's CPU is not the
 * benchmark's): accepts everything, keeps per message only its `X-Lethe-Notification-Id`, and
 * answers the parent over IPC: `{cmd: "stats"}` → `{messages, distinct}`, `{cmd: "reset"}`.
 * Usage: node --import tsx bench/smtp-sink.ts <port>.
 */
import { SMTPServer } from "smtp-server";

const port = Number(process.argv[2]);
const ids = new Set<string>();
let messages = 0;
const HEADER = /^X-Lethe-Notification-Id:[ \t]*(\S+)/im;

const server = new SMTPServer({
  authOptional: true,
  hideSTARTTLS: true,
  disabledCommands: ["AUTH"],
  logger: false,
  closeTimeout: 100,
  maxClients: 500,
  onData(stream, _session, callback) {
    let head = "";
    stream.on("data", (c: Buffer) => {
      if (head.length < 8192) head += c.toString("utf8");
    });
    stream.on("end", () => {
      messages++;
      const m = HEADER.exec(head);
      if (m) ids.add(m[1]!);
      callback();
    });
  },
});
server.on("error", () => undefined);
server.listen(port, "127.0.0.1", () => process.send?.({ ready: true }));
process.on("message", (msg: { cmd: string }) => {
  if (msg.cmd === "stats") process.send?.({ messages, distinct: ids.size });
  if (msg.cmd === "reset") {
    messages = 0;
    ids.clear();
    process.send?.({ reset: true });
  }
});
process.on("disconnect", () => server.close(() => process.exit(0)));
