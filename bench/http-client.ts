/**
 * The benchmarks' load generator: JSON POSTs over one keep-alive `node:http` agent. Lighter than
 * `fetch` (undici and web streams cost the bench process about 2 ms of CPU per request here, CPU
 * the machine's two cores then lack for the API and the worker being measured).
 */
import { Agent, request } from "node:http";

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

/** POSTs `body` as JSON with a bearer key; resolves with the status code (the body is read and dropped). */
export function postJson(url: string, key: string, body: unknown): Promise<number> {
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: "POST", agent, headers: { "content-type": "application/json", "content-length": payload.length, authorization: `Bearer ${key}` } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

/** Closes the agent's idle sockets (at the end of a bench). */
export function closeAgent(): void {
  agent.destroy();
}
