import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { LetheTimeoutError } from "./errors";
import { IncidentClient } from "./incidents";
import { Transport, type ClientOptions } from "./transport";
import type {
  ConsentEventView,
  ExportDownload,
  FieldChangeInput,
  RecipientView,
  RestrictionView,
  SubjectRightsView,
  HoldInput,
  HoldView,
  ReceiptPublicKey,
  Readiness,
  ReleasedHold,
  RequestView,
  RetentionRunView,
  SignedReceipt,
  SubjectRef,
  SubmitInput,
  SubmitOptions,
  Submitted,
  WaitOptions,
} from "./types";

const seg = (id: string): string => encodeURIComponent(id);

/** Request statuses after which nothing more happens without a new call (`held` waits for its hold). */
const DONE_REQUEST = new Set(["completed", "failed", "refused"]);
/** Retention run statuses that are final. */
const DONE_RUN = new Set(["completed", "failed"]);

/**
 * A typed client of Lethe's HTTP API (fetch-based, no dependency). Every method maps to one route;
 * an error status rejects with `LetheApiError` carrying the RFC 9457 problem.
 *
 * ```ts
 * const lethe = new LetheClient({ baseUrl: "http://127.0.0.1:8080", apiKey: process.env.LETHE_KEY! });
 * const { id } = await lethe.submit({ type: "erasure", subject: { id: "42" } }, { idempotencyKey: "erase-42" });
 * const done = await lethe.waitUntilDone(id, { timeoutMs: 120_000 });
 * if (done.status === "completed") await lethe.getReceipt(id);
 * ```
 */
export class LetheClient {
  private readonly http: Transport;
  /** The breach register (`/v1/incidents`): incidents, scopes, severity, reports, notices. */
  readonly incidents: IncidentClient;

  constructor(options: ClientOptions) {
    this.http = new Transport(options);
    this.incidents = new IncidentClient(this.http);
  }

  /** `POST /v1/requests` (scope `requests.write`): records an erasure or export request; answers at once (202). */
  async submit(input: SubmitInput, options: SubmitOptions = {}): Promise<Submitted> {
    const res = await this.http.send({
      method: "POST",
      path: "/v1/requests",
      body: input,
      headers: { "idempotency-key": options.idempotencyKey ?? randomUUID() },
      repeatable: true,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const body = (await res.json()) as Omit<Submitted, "replayed">;
    return { ...body, replayed: res.headers.get("idempotent-replayed") === "true" };
  }

  /** Erasure of `subject` (Art. 17): {@link submit} with `type: "erasure"`. */
  erase(subject: SubjectRef, options: SubmitOptions & { dryRun?: boolean } = {}): Promise<Submitted> {
    const { dryRun, ...rest } = options;
    return this.submit({ type: "erasure", subject, ...(dryRun === undefined ? {} : { dryRun }) }, rest);
  }

  /** An access/portability export of `subject` (Art. 15, 20), mailed to them as a link: {@link submit} with `type: "export"`. */
  requestExport(subject: SubjectRef, options: SubmitOptions = {}): Promise<Submitted> {
    return this.submit({ type: "export", subject }, options);
  }

  /** A rectification (Art. 16): {@link submit} with `type: "rectification"`; `contested` restricts the subject until it is done (Art. 18(1)(a)). */
  rectify(subject: SubjectRef, changes: FieldChangeInput[], options: SubmitOptions & { contested?: boolean } = {}): Promise<Submitted> {
    const { contested, ...rest } = options;
    return this.submit({ type: "rectification", subject, changes, ...(contested === undefined ? {} : { contested }) }, rest);
  }

  /** A restriction (Art. 18) on ground `a`–`d` of 18(1), optionally for one purpose: in force when this resolves. */
  restrict(subject: SubjectRef, restriction: { ground: "a" | "b" | "c" | "d"; purpose?: string }, options: SubmitOptions = {}): Promise<Submitted> {
    return this.submit({ type: "restriction", subject, ...restriction }, options);
  }

  /** An objection (Art. 21) to the processing for `purpose`: to direct marketing it is in force when this resolves; under 21(1) it awaits a `dpo` decision. */
  object(subject: SubjectRef, purpose: string, options: SubmitOptions = {}): Promise<Submitted> {
    return this.submit({ type: "objection", subject, purpose }, options);
  }

  /** A withdrawal of consent (Art. 7(3)) to `purpose`, recorded in the consent ledger with where it came from. */
  withdrawConsent(subject: SubjectRef, consent: { purpose: string; source: string }, options: SubmitOptions = {}): Promise<Submitted> {
    return this.submit({ type: "consent-withdrawal", subject, ...consent }, options);
  }

  /** `POST /v1/consents` (`requests.write`): records a consent given (an event of the ledger). */
  grantConsent(input: { subject: SubjectRef; purpose: string; source: string }): Promise<ConsentEventView> {
    return this.http.json({ method: "POST", path: "/v1/consents", body: input, repeatable: false });
  }

  /** `GET /v1/subjects/restrictions?…` (`requests.read`): whether the subject is restricted, what it objected to, its consents. */
  getSubjectRights(subject: SubjectRef): Promise<SubjectRightsView> {
    return this.http.json({ method: "GET", path: `/v1/subjects/restrictions?${new URLSearchParams(subject).toString()}`, repeatable: true });
  }

  /** `GET /v1/subjects/consents?…` (`requests.read`): the subject's consent ledger, oldest first. */
  async getConsents(subject: SubjectRef): Promise<ConsentEventView[]> {
    const body = await this.http.json<{ events: ConsentEventView[] }>({
      method: "GET",
      path: `/v1/subjects/consents?${new URLSearchParams(subject).toString()}`,
      repeatable: true,
    });
    return body.events;
  }

  /** `GET /v1/restrictions/:id` (`requests.read`). */
  getRestriction(id: string): Promise<RestrictionView> {
    return this.http.json({ method: "GET", path: `/v1/restrictions/${seg(id)}`, repeatable: true });
  }

  /**
   * `POST /v1/restrictions/:id/lift` (`dpo`): queues the notice to the person; the restriction ends
   * once it was sent (Art. 18(3)). `noticeNotPossible`: after the notice failed, why they cannot be told.
   */
  liftRestriction(id: string, lift: { reason: string; noticeNotPossible?: string }): Promise<RestrictionView & { noticeId?: string }> {
    return this.http.json({ method: "POST", path: `/v1/restrictions/${seg(id)}/lift`, body: lift, repeatable: false });
  }

  /** `POST /v1/requests/:id/extend` (`dpo`): the one Art. 12(3) extension, before the due date, with the reason; the person is told. */
  extend(id: string, extension: { months: 1 | 2; reason: string }): Promise<{ id: string; dueAt: string; noticeId: string }> {
    return this.http.json({ method: "POST", path: `/v1/requests/${seg(id)}/extend`, body: extension, repeatable: false });
  }

  /** `POST /v1/requests/:id/refuse` (`dpo`): the Art. 12(4) refusal with its reason; the person is told, with their right to complain. */
  refuse(id: string, reason: string): Promise<{ id: string; status: "refused"; noticeId: string }> {
    return this.http.json({ method: "POST", path: `/v1/requests/${seg(id)}/refuse`, body: { reason }, repeatable: false });
  }

  /** `POST /v1/requests/:id/approve` (`dpo`): a rectification that waits for approval runs. */
  approve(id: string, reason?: string): Promise<{ id: string; status: "queued" }> {
    return this.http.json({ method: "POST", path: `/v1/requests/${seg(id)}/approve`, body: reason === undefined ? {} : { reason }, repeatable: false });
  }

  /** `POST /v1/requests/:id/reject` (`dpo`): a rectification that waits for approval is refused with the reason. */
  reject(id: string, reason: string): Promise<{ id: string; status: "refused"; noticeId: string }> {
    return this.http.json({ method: "POST", path: `/v1/requests/${seg(id)}/reject`, body: { reason }, repeatable: false });
  }

  /** `POST /v1/requests/:id/decision` (`dpo`): the outcome of an objection under Art. 21(1), with the grounds; the person is told. */
  decideObjection(id: string, decision: { outcome: "upheld" | "rejected"; grounds: string }): Promise<{ id: string; outcome: string; noticeId: string }> {
    return this.http.json({ method: "POST", path: `/v1/requests/${seg(id)}/decision`, body: decision, repeatable: false });
  }

  /** `GET /v1/requests/:id/recipients` (`requests.read`): every recipient of the request and how it was told (Art. 19). */
  async getRecipients(id: string): Promise<RecipientView[]> {
    const body = await this.http.json<{ recipients: RecipientView[] }>({ method: "GET", path: `/v1/requests/${seg(id)}/recipients`, repeatable: true });
    return body.recipients;
  }

  /** `POST /v1/requests/:id/recipients/:recipient` (`dpo`): a recipient told by hand (`done`), or `impossible` with the reason. */
  settleRecipient(
    id: string,
    recipient: string,
    settle: { action: RecipientView["action"]; status: "done" | "impossible"; reason?: string },
  ): Promise<unknown> {
    return this.http.json({ method: "POST", path: `/v1/requests/${seg(id)}/recipients/${seg(recipient)}`, body: settle, repeatable: false });
  }

  /** `GET /v1/requests/:id` (`requests.read`): status, steps, error, and an export's state. */
  getRequest(id: string, signal?: AbortSignal): Promise<RequestView> {
    return this.http.json({ method: "GET", path: `/v1/requests/${seg(id)}`, repeatable: true, ...(signal ? { signal } : {}) });
  }

  /**
   * Polls {@link getRequest} until the request is `completed`, `failed` or `refused` and returns that view
   * (check `status`: a failed request is returned, not thrown). `held` keeps waiting. Rejects with
   * `LetheTimeoutError` after `timeoutMs`.
   */
  waitUntilDone(id: string, options: WaitOptions = {}): Promise<RequestView> {
    return this.poll(id, (signal) => this.getRequest(id, signal), DONE_REQUEST, options);
  }

  /** `POST /v1/requests/:id/retry` (`requests.write`): resumes a failed request. */
  retry(id: string): Promise<{ id: string; status: "queued" }> {
    return this.http.json({ method: "POST", path: `/v1/requests/${seg(id)}/retry`, repeatable: false });
  }

  /** `GET /v1/requests/:id/receipt` (`requests.read`): the signed receipt of a completed request. Check it with `verifyReceipt`. */
  getReceipt(id: string): Promise<SignedReceipt> {
    return this.http.json({ method: "GET", path: `/v1/requests/${seg(id)}/receipt`, repeatable: true });
  }

  /** `GET /v1/receipts/public-key` (`requests.read`): the Ed25519 key receipts are signed with. Fetch once and pin it. */
  getReceiptPublicKey(): Promise<ReceiptPublicKey> {
    return this.http.json({ method: "GET", path: "/v1/receipts/public-key", repeatable: true });
  }

  /** `POST /v1/holds` (`holds.write`): a legal hold on a subject; their erasure waits and sweeps skip them until it ends. */
  placeHold(input: HoldInput): Promise<HoldView> {
    const until = input.until instanceof Date ? input.until.toISOString() : input.until;
    const body = { subject: input.subject, ground: input.ground, ...(until ? { until } : {}) };
    return this.http.json({ method: "POST", path: "/v1/holds", body, repeatable: false });
  }

  /** `GET /v1/holds/:id` (`holds.read`). */
  getHold(id: string): Promise<HoldView> {
    return this.http.json({ method: "GET", path: `/v1/holds/${seg(id)}`, repeatable: true });
  }

  /** `DELETE /v1/holds/:id` (`holds.write`): releases a hold; the requests it held resume. */
  releaseHold(id: string): Promise<ReleasedHold> {
    return this.http.json({ method: "DELETE", path: `/v1/holds/${seg(id)}`, repeatable: false });
  }

  /** `POST /v1/retention/:policy/runs` (`requests.write`): runs a retention policy now (a dry run only counts). */
  startRetentionRun(policy: string, options: { dryRun?: boolean } = {}): Promise<RetentionRunView> {
    const body = options.dryRun === undefined ? {} : { dryRun: options.dryRun };
    return this.http.json({ method: "POST", path: `/v1/retention/${seg(policy)}/runs`, body, repeatable: false });
  }

  /** `GET /v1/retention/runs/:id` (`requests.read`): a run's status and counts. */
  getRetentionRun(id: string, signal?: AbortSignal): Promise<RetentionRunView> {
    return this.http.json({ method: "GET", path: `/v1/retention/runs/${seg(id)}`, repeatable: true, ...(signal ? { signal } : {}) });
  }

  /** Polls {@link getRetentionRun} until the run is `completed` or `failed`; `LetheTimeoutError` after `timeoutMs`. */
  waitForRetentionRun(id: string, options: WaitOptions = {}): Promise<RetentionRunView> {
    return this.poll(id, (signal) => this.getRetentionRun(id, signal), DONE_RUN, options);
  }

  /**
   * `GET /v1/exports/:id/download?token=…`: downloads an export from its mailed link (the signed
   * token is the credential; no API key is needed). The link must point at this client's API.
   * The zip is streamed; read `body` to the end or cancel it.
   */
  async downloadExport(link: string): Promise<ExportDownload> {
    const prefix = this.http.url("/v1/exports/");
    if (!link.startsWith(prefix)) throw new TypeError(`the link does not start with ${prefix}`);
    const res = await this.http.send({ method: "GET", path: link.slice(this.http.url("").length), repeatable: false });
    const disposition = /filename="([^"]+)"/.exec(res.headers.get("content-disposition") ?? "");
    const length = res.headers.get("content-length");
    if (!res.body) throw new Error("the download has no body");
    return { body: res.body, filename: disposition?.[1] ?? null, sizeBytes: length === null ? null : Number(length) };
  }

  /** `GET /healthz`: the API process is up. */
  async health(): Promise<{ status: "ok" }> {
    return this.http.json({ method: "GET", path: "/healthz", repeatable: true });
  }

  /** `GET /readyz`: Postgres, migrations and Redis answer (`LetheApiError` 503 when not). */
  async ready(): Promise<Readiness> {
    return this.http.json({ method: "GET", path: "/readyz", repeatable: false });
  }

  private async poll<T extends { status: string }>(id: string, get: (signal: AbortSignal) => Promise<T>, done: Set<string>, options: WaitOptions): Promise<T> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
    let pause = options.intervalMs ?? 500;
    let last = "unknown";
    try {
      for (;;) {
        const view = await get(signal);
        last = view.status;
        if (done.has(view.status)) return view;
        await sleep(pause, undefined, { signal });
        pause = Math.min(pause * 1.5, 10_000);
      }
    } catch (err) {
      if (deadline.aborted && !options.signal?.aborted) throw new LetheTimeoutError(id, last, timeoutMs);
      throw err;
    }
  }
}
