import { setTimeout as sleep } from "node:timers/promises";
import { LetheTimeoutError } from "./errors";
import type { Transport } from "./transport";
import type {
  FanoutProgress,
  IncidentInput,
  IncidentView,
  NoticeVersion,
  NotificationPage,
  RenderedNotice,
  ReportVersion,
  ScopeInput,
  ScopeView,
  WaitOptions,
} from "./types";

const seg = (id: string): string => encodeURIComponent(id);

/**
 * The breach register's routes (`/v1/incidents`), reached as `lethe.incidents`: the register,
 * scopes of affected people, severity and decision, reports in phases, notices and their fan-out.
 * Writes need `incidents.write`, reads `incidents.read`, decisions and closing `dpo`.
 */
export class IncidentClient {
  constructor(private readonly http: Transport) {}

  /** `POST /v1/incidents`: records an incident; `awareAt` starts the authority's 72-hour clock. */
  create(input: IncidentInput): Promise<IncidentView> {
    return this.http.json({ method: "POST", path: "/v1/incidents", body: input, repeatable: false });
  }

  /** `GET /v1/incidents/:id` (id or reference `BR-2025-0001`). */
  get(id: string, signal?: AbortSignal): Promise<IncidentView> {
    return this.http.json({ method: "GET", path: `/v1/incidents/${seg(id)}`, repeatable: true, ...(signal ? { signal } : {}) });
  }

  /** `GET /v1/incidents`: newest first, optionally of some statuses. */
  async list(query: { status?: string[]; limit?: number; before?: string } = {}): Promise<IncidentView[]> {
    const q = new URLSearchParams();
    if (query.status) q.set("status", query.status.join(","));
    if (query.limit !== undefined) q.set("limit", String(query.limit));
    if (query.before) q.set("before", query.before);
    const qs = q.toString();
    return (await this.http.json<{ incidents: IncidentView[] }>({ method: "GET", path: `/v1/incidents${qs ? `?${qs}` : ""}`, repeatable: true })).incidents;
  }

  /** `GET /v1/incidents/:id/audit`: the incident's audit trail (events, keyed hashes and counts only). */
  async audit(id: string): Promise<Array<{ id: string; at: string; event: string; actor: string | null; detail: Record<string, unknown> }>> {
    return (
      await this.http.json<{ entries: Array<{ id: string; at: string; event: string; actor: string | null; detail: Record<string, unknown> }> }>({
        method: "GET",
        path: `/v1/incidents/${seg(id)}/audit`,
        repeatable: true,
      })
    ).entries;
  }

  /** `GET /v1/incidents/export.json`: every incident of the register. */
  async exportJson(): Promise<IncidentView[]> {
    return (await this.http.json<{ incidents: IncidentView[] }>({ method: "GET", path: "/v1/incidents/export.json", repeatable: true })).incidents;
  }

  /** `GET /v1/incidents/export.csv`: the register as CSV. */
  async exportCsv(): Promise<string> {
    return (await this.http.send({ method: "GET", path: "/v1/incidents/export.csv", repeatable: true })).text();
  }

  /** `POST /v1/incidents/:id/scopes`: counts what a scope reaches (dry run) and keeps it as a draft; uploaded values are sealed. */
  dryRunScope(id: string, scope: ScopeInput): Promise<ScopeView> {
    return this.http.json({ method: "POST", path: `/v1/incidents/${seg(id)}/scopes`, body: scope, repeatable: false });
  }

  /** `GET /v1/incidents/:id/scopes/:scopeId`. */
  getScope(id: string, scopeId: string, signal?: AbortSignal): Promise<ScopeView> {
    return this.http.json({ method: "GET", path: `/v1/incidents/${seg(id)}/scopes/${seg(scopeId)}`, repeatable: true, ...(signal ? { signal } : {}) });
  }

  /** `POST /v1/incidents/:id/scopes/:scopeId/freeze`: stores the scope's people as the affected set (a job; see {@link waitForScope}). */
  freezeScope(id: string, scopeId: string): Promise<ScopeView> {
    return this.http.json({ method: "POST", path: `/v1/incidents/${seg(id)}/scopes/${seg(scopeId)}/freeze`, body: {}, repeatable: true });
  }

  /** Polls {@link getScope} until it is `frozen` or `failed`. */
  waitForScope(id: string, scopeId: string, options: WaitOptions = {}): Promise<ScopeView> {
    return poll(
      `${id}/${scopeId}`,
      (signal) => this.getScope(id, scopeId, signal),
      (s) => s.state === "frozen" || s.state === "failed",
      (s) => s.state,
      options,
    );
  }

  /** `POST /v1/incidents/:id/assessments`: the ENISA severity of the incident. */
  assess(id: string, input: Record<string, unknown>): Promise<{ id: string; score: number; band: string; method: string; warnings: string[] }> {
    return this.http.json({ method: "POST", path: `/v1/incidents/${seg(id)}/assessments`, body: input, repeatable: false });
  }

  /** `POST /v1/incidents/:id/decisions` (`dpo`): whom to tell, with the rationale (and a justification when below the severity). */
  decide(id: string, input: Record<string, unknown>): Promise<Record<string, unknown> & { incident: IncidentView }> {
    return this.http.json({ method: "POST", path: `/v1/incidents/${seg(id)}/decisions`, body: input, repeatable: false });
  }

  /** `GET /v1/incidents/:id/reports/draft`: the next version pre-filled (previous content, frozen numbers). */
  reportDraft(id: string): Promise<Record<string, unknown>> {
    return this.http.json({ method: "GET", path: `/v1/incidents/${seg(id)}/reports/draft`, repeatable: true });
  }

  /** `POST /v1/incidents/:id/reports`: the next version (initial, follow_up or withdrawal). */
  submitReport(id: string, report: Record<string, unknown>): Promise<ReportVersion & { incident: IncidentView }> {
    return this.http.json({ method: "POST", path: `/v1/incidents/${seg(id)}/reports`, body: report, repeatable: false });
  }

  /** `GET /v1/incidents/:id/reports/:version`: the document and what changed since the previous version. */
  getReport(id: string, version: number): Promise<ReportVersion> {
    return this.http.json({ method: "GET", path: `/v1/incidents/${seg(id)}/reports/${version}`, repeatable: true });
  }

  /** `GET /v1/incidents/:id/reports/:version/html`: the version as a self-contained page. */
  async getReportHtml(id: string, version: number): Promise<string> {
    return (await this.http.send({ method: "GET", path: `/v1/incidents/${seg(id)}/reports/${version}/html`, repeatable: true })).text();
  }

  /** `POST /v1/incidents/:id/notices`: renders and stores the next notice version (texts per locale). */
  prepareNotice(id: string, input: Record<string, unknown>): Promise<NoticeVersion> {
    return this.http.json({ method: "POST", path: `/v1/incidents/${seg(id)}/notices`, body: input, repeatable: false });
  }

  /** `GET /v1/incidents/:id/notices/:version/:locale`: one rendered notice (subject, text, HTML). */
  getNotice(id: string, version: number, locale: string): Promise<RenderedNotice> {
    return this.http.json({ method: "GET", path: `/v1/incidents/${seg(id)}/notices/${version}/${seg(locale)}`, repeatable: true });
  }

  /** `POST /v1/incidents/:id/notify`: one notice per affected person, exactly once; progress at once (202). */
  notify(id: string, options: { noticeVersion?: number } = {}): Promise<FanoutProgress> {
    return this.http.json({ method: "POST", path: `/v1/incidents/${seg(id)}/notify`, body: options, repeatable: true });
  }

  /** `POST /v1/incidents/:id/pause`: pauses the notices (e.g. a law-enforcement request), with the reason. */
  pause(id: string, reason: string): Promise<FanoutProgress> {
    return this.http.json({ method: "POST", path: `/v1/incidents/${seg(id)}/pause`, body: { reason }, repeatable: false });
  }

  /** `POST /v1/incidents/:id/resume`. */
  resume(id: string): Promise<FanoutProgress> {
    return this.http.json({ method: "POST", path: `/v1/incidents/${seg(id)}/resume`, body: {}, repeatable: false });
  }

  /** `GET /v1/incidents/:id/progress`: sent / pending / undeliverable. */
  progress(id: string, signal?: AbortSignal): Promise<FanoutProgress> {
    return this.http.json({ method: "GET", path: `/v1/incidents/${seg(id)}/progress`, repeatable: true, ...(signal ? { signal } : {}) });
  }

  /** Polls {@link progress} until every notice is out (`done`); `onProgress` sees each reading. */
  waitForNotices(id: string, options: WaitOptions & { onProgress?: (p: FanoutProgress) => void } = {}): Promise<FanoutProgress> {
    return poll(
      id,
      async (signal) => {
        const p = await this.progress(id, signal);
        options.onProgress?.(p);
        return p;
      },
      (p) => p.state === "done",
      (p) => `${p.state}: ${p.sent} sent, ${p.pending} pending, ${p.undeliverable} undeliverable`,
      options,
    );
  }

  /** `GET /v1/incidents/:id/notifications`: per-person statuses (keyed hashes, SMTP answers), a page at a time. */
  notifications(id: string, query: { status?: string; after?: string; limit?: number } = {}): Promise<NotificationPage> {
    const q = new URLSearchParams(Object.entries(query).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)]])));
    const qs = q.toString();
    return this.http.json({ method: "GET", path: `/v1/incidents/${seg(id)}/notifications${qs ? `?${qs}` : ""}`, repeatable: true });
  }

  /** `POST /v1/incidents/:id/public-notice`: a public communication was made (Art. 34(3)(c)). */
  recordPublicNotice(id: string, input: { where: string; givenAt?: string }): Promise<IncidentView> {
    return this.http.json({ method: "POST", path: `/v1/incidents/${seg(id)}/public-notice`, body: input, repeatable: false });
  }

  /** `POST /v1/incidents/:id/close` (`dpo`): `closed`, or `not_a_breach` with the rationale. */
  close(id: string, input: { status: "closed" | "not_a_breach"; rationale?: string }): Promise<IncidentView> {
    return this.http.json({ method: "POST", path: `/v1/incidents/${seg(id)}/close`, body: input, repeatable: false });
  }
}

/** Polls `get` until `done`; `LetheTimeoutError` (naming the last state) after `timeoutMs`. */
async function poll<T>(
  id: string,
  get: (signal: AbortSignal) => Promise<T>,
  done: (v: T) => boolean,
  state: (v: T) => string,
  options: WaitOptions,
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  let pause = options.intervalMs ?? 500;
  let last = "unknown";
  try {
    for (;;) {
      const v = await get(signal);
      last = state(v);
      if (done(v)) return v;
      await sleep(pause, undefined, { signal });
      pause = Math.min(pause * 1.5, 5_000);
    }
  } catch (err) {
    if (deadline.aborted && !options.signal?.aborted) throw new LetheTimeoutError(id, last, timeoutMs);
    throw err;
  }
}
