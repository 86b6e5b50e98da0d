/**
 * The benchmarks' load generator: JSON POSTs over one keep-alive `node:http` agent. Lighter than
 * `fetch` (undici and web streams cost the bench process about 2 ms of CPU per request here, CPU
 * the machine's two cores then lack for the API and the worker being measured).
 */
import { Agent, request } from "node:http";

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

/** POSTs `body` as JSON with a bearer key; resolves with the status code and the body text. */
export function postJson(url: string, key: string, body: unknown): Promise<{ status: number; text: string }> {
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: "POST", agent, headers: { "content-type": "application/json", "content-length": payload.length, authorization: `Bearer ${key}` } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

/**
 * Submits an erasure of subject `id` through `POST /v1/requests` and returns the request's id; a
 * status other than 202 is an error.
 */
export async function submitErasure(apiUrl: string, key: string, id: number): Promise<string> {
  const res = await postJson(`${apiUrl}/v1/requests`, key, { type: "erasure", subject: { id: String(id) } });
  if (res.status !== 202) throw new Error(`POST /v1/requests answered ${res.status}`);
  return (JSON.parse(res.text) as { id: string }).id;
}

/** Closes the agent's idle sockets (at the end of a bench). */
export function closeAgent(): void {
  agent.destroy();
}
