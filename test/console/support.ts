import type { LightMyRequestResponse } from "fastify";
import { TEST_KEYS } from "../helpers/config";
import type { MigratedApi } from "../http/harness";

/** The console's keys: one per role, besides the harness's app, reader and admin keys. */
export const CONSOLE_KEYS = {
  viewer: "console-viewer-key-0000000004",
  operator: "console-operator-key-00000005",
  dpo: "console-dpo-key-000000000006",
  incidents: "console-incidents-key-0000007",
} as const;

/** `LETHE_API_KEYS` with every role. */
export const CONSOLE_ENV = {
  LETHE_API_KEYS: [
    `app:${TEST_KEYS.writer}:requests.write|requests.read`,
    `ro:${TEST_KEYS.reader}:requests.read`,
    `ops:${TEST_KEYS.admin}:admin`,
    `viewer:${CONSOLE_KEYS.viewer}:console.read`,
    `operator:${CONSOLE_KEYS.operator}:console.read|operate`,
    `dpo:${CONSOLE_KEYS.dpo}:console.read|dpo`,
    `breach:${CONSOLE_KEYS.incidents}:incidents.read|incidents.write`,
  ].join(";"),
};

/** Marker values seeded as subjects: none of them may ever appear on a page or in a list. */
export const MARKERS = ["marker.ada.7f3c@example.org", "marker.grace.91ab@example.org", "marker.alan.c0de@example.org", "marker.edsger.5eed@example.org"];

/** Submits an erasure of `email` as the app; returns its id. */
export async function submit(api: MigratedApi, email: string, dryRun = false): Promise<string> {
  const res = await api.h.app.inject({
    method: "POST",
    url: "/v1/requests",
    headers: { authorization: `Bearer ${TEST_KEYS.writer}` },
    payload: { type: "erasure", subject: { email }, ...(dryRun ? { dryRun } : {}) },
  });
  expect(res.statusCode).toBe(202);
  return res.json<{ id: string }>().id;
}

/** Moves a request's dates and status (test set-up of what workers and time would do). */
export async function shape(
  api: MigratedApi,
  id: string,
  s: { receivedDaysAgo: number; dueInDays: number; status?: string; result?: unknown; errorCode?: string },
): Promise<void> {
  await api.ds.query(
    `UPDATE lethe.subject_request SET received_at = now() - make_interval(days => $2), due_at = now() + $3::float8 * interval '1 day',
            status = coalesce($4, status), result = coalesce($5::jsonb, result), error_code = $6, error_message = CASE WHEN $6::text IS NULL THEN NULL ELSE 'failed in a test' END,
            completed_at = CASE WHEN $4 IN ('completed', 'refused') THEN now() ELSE NULL END
      WHERE id = $1`,
    [id, s.receivedDaysAgo, s.dueInDays, s.status ?? null, s.result === undefined ? null : JSON.stringify(s.result), s.errorCode ?? null],
  );
}

/** The session cookie a console login sets for `key` (asserts the login succeeded). */
export async function login(api: MigratedApi, key: string): Promise<string> {
  const res = await api.h.app.inject({
    method: "POST",
    url: "/admin/login",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    payload: new URLSearchParams({ key }).toString(),
  });
  expect(res.statusCode).toBe(303);
  expect(res.headers.location).toBe("/admin/requests");
  const cookie = String(res.headers["set-cookie"]).split(";")[0]!;
  expect(cookie).toMatch(/^lethe_console=.+\..+/);
  return cookie;
}

/** The numbers of a page's `data-count` cards, by name. */
export function cardCounts(html: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of html.matchAll(/<li data-count="([^"]+)"><span class="n">(-?\d+)<\/span>/g)) out[m[1]!] = Number(m[2]);
  return out;
}

/** Asserts no marker value is in a response body. */
export function expectNoMarkers(res: LightMyRequestResponse | string): void {
  const body = typeof res === "string" ? res : res.body;
  for (const m of MARKERS) expect(body).not.toContain(m);
}
