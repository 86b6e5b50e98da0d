import { TEST_KEYS } from "../helpers/config";
import { expectProblem, useMigratedApi } from "../http/harness";
import { CONSOLE_ENV, CONSOLE_KEYS } from "./support";

/**
 * The whole route × scope matrix of the console and its endpoints: viewing (`console.read`),
 * operating (`operate`: retry), the data-protection officer (`dpo`: extensions), admin (all), and
 * keys of other roles. Allowed means anything but 401/403; refused means 403 problem+json (401
 * without a key; a console page asks a browser to log in instead).
 */

const api = useMigratedApi({ env: CONSOLE_ENV });

const KEYS = {
  none: null,
  app: TEST_KEYS.writer,
  reader: TEST_KEYS.reader,
  admin: TEST_KEYS.admin,
  viewer: CONSOLE_KEYS.viewer,
  operator: CONSOLE_KEYS.operator,
  dpo: CONSOLE_KEYS.dpo,
  incidents: CONSOLE_KEYS.incidents,
} as const;
type Role = keyof typeof KEYS;

const ID = "00000000-0000-4000-8000-000000000001";
const VIEW: Role[] = ["admin", "viewer", "operator", "dpo"];

/** Each route and the roles it admits. */
const MATRIX: Array<{ method: "GET" | "POST"; url: string; allowed: Role[]; body?: Record<string, unknown>; form?: boolean }> = [
  { method: "GET", url: "/v1/requests", allowed: VIEW },
  { method: "GET", url: "/v1/holds", allowed: VIEW },
  { method: "GET", url: "/v1/retention/runs", allowed: VIEW },
  { method: "GET", url: "/v1/retention/policies", allowed: VIEW },
  { method: "GET", url: "/v1/ropa", allowed: VIEW },
  { method: "GET", url: "/v1/ropa/check", allowed: VIEW },
  { method: "GET", url: "/v1/incidents", allowed: [...VIEW, "incidents"] },
  { method: "POST", url: `/v1/requests/${ID}/retry`, allowed: ["admin", "app", "operator"] },
  { method: "POST", url: `/v1/requests/${ID}/extend`, allowed: ["admin", "dpo"], body: { months: 1, reason: "complex" } },
  { method: "GET", url: "/metrics", allowed: ["admin"] },
  { method: "GET", url: "/admin/requests", allowed: VIEW },
  { method: "GET", url: `/admin/requests/${ID}`, allowed: VIEW },
  { method: "GET", url: "/admin/incidents", allowed: VIEW },
  { method: "GET", url: "/admin/retention", allowed: VIEW },
  { method: "GET", url: "/admin/deliveries", allowed: VIEW },
  { method: "GET", url: "/admin/holds", allowed: VIEW },
  { method: "GET", url: "/admin/audit", allowed: VIEW },
  { method: "GET", url: "/admin/register", allowed: VIEW },
  { method: "GET", url: "/admin/register/csv", allowed: VIEW },
  { method: "POST", url: `/admin/requests/${ID}/retry`, allowed: ["admin", "operator"], form: true },
  { method: "POST", url: `/admin/requests/${ID}/extend`, allowed: ["admin", "dpo"], form: true },
  { method: "GET", url: "/admin/queues/api/queues", allowed: VIEW },
];

describe.each(MATRIX)("$method $url", (route) => {
  it.each(Object.keys(KEYS) as Role[])("as %s", async (role) => {
    const key = KEYS[role];
    const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
    const res = await api.h.app.inject({
      method: route.method,
      url: route.url,
      headers: route.form ? { ...headers, "content-type": "application/x-www-form-urlencoded" } : headers,
      ...(route.form ? { payload: "months=1&reason=complex" } : route.body ? { payload: route.body } : {}),
    });
    if (route.allowed.includes(role)) {
      expect([401, 403]).not.toContain(res.statusCode);
      expect(res.statusCode).toBeLessThan(500);
    } else if (key === null && route.method === "GET" && route.url.startsWith("/admin/") && !route.url.startsWith("/admin/queues")) {
      expect(res.statusCode).toBe(303);
      expect(res.headers.location).toBe("/admin/login");
    } else {
      expectProblem(res, key === null ? 401 : 403);
    }
  });
});
