import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { verifyReceipt, type SignedReceipt } from "../../src/receipts/receipt";
import { storeJobId } from "../../src/queues/jobs/erase-store";
import type { RequestView } from "../../src/requests/view";
import { signLethePayload, verifyLetheSignature } from "../../src/webhook/verify-signature";
import type { WorkerHandle } from "../../workers/worker";
import { startFakeProcessor, type FakeProcessor, type ReceivedCall, type SentCallback } from "../helpers/fake-processor";
import { reconcilerPass, waitForJobState } from "../helpers/job-events";
import { diffChecksums, rowChecksums, rowsContaining, sortKeys } from "../helpers/row-checksums";
import { shopSubject } from "../helpers/shop";
import { waitFor } from "../helpers/wait";
import {
  createMultiStore,
  expectedSteps,
  MAILER_SECRET,
  readTree,
  shareAddress,
  sortAllSteps,
  withoutSubjects,
  type MultiStore,
  type Subject,
} from "./fixture";

/**
 * Issue #3 end to end: one subject present in the shop's Postgres, Redis (several key shapes and
 * a hash field), files and two processors (one answering 200, one answering 202 and calling back
 * through the real API) is erased by one request; each store's own query finds nothing of theirs,
 * everyone else is untouched, and the signed receipt verifies and names nobody. Also: forged and
 * replayed callbacks, and the signed completion callback to the application.
 */
jest.setTimeout(60_000);

const APP_SECRET = "application-callback-secret-42424242";

describe("erasure across every store", () => {
  let w: MultiStore;
  let worker: WorkerHandle;
  /** The application's own endpoint for LETHE_CALLBACK_URL: the fake processor as a receiver that answers 204. */
  let app: FakeProcessor;

  beforeAll(async () => {
    app = await startFakeProcessor({ name: "app", secret: APP_SECRET, path: "/lethe-events", answer: () => ({ status: 204 }) });
    const appUrl = app.url;
    w = await createMultiStore({
      env: { LETHE_CALLBACK_URL: appUrl, LETHE_CALLBACK_SECRET: APP_SECRET },
      // The mailer answers 202 and the test calls back once the store job waits: a long poll
      // interval proves the callback itself wakes the job.
      mailer: () => ({ status: 202 }),
      webhook: { pollIntervalMs: 30_000 },
    });
    worker = await w.startWorker();
  });

  afterAll(async () => {
    await w?.cleanup();
    await app?.close();
  });

  /** The mailer's call for a request, once the store job is waiting (delayed) for its callback. */
  async function mailerCallWhenWaiting(requestId: string): Promise<ReceivedCall> {
    const call = await waitFor(async () => w.mailer.callsFor(requestId)[0], "the mailer's erase call", 20_000, 20);
    await waitFor(
      async () => {
        const job = await w.h.erasureQueue.getJob(storeJobId(requestId, "mailer"));
        return job && (await job.isDelayed()) ? true : undefined;
      },
      "the mailer's store job to wait for its callback",
      20_000,
      20,
    );
    return call;
  }

  async function submit(subject: Record<string, string>): Promise<string> {
    const res = await w.http<{ id: string; status: string }>("POST", "/v1/requests", { type: "erasure", subject });
    expect(res.status).toBe(202);
    return res.json.id;
  }

  /** Polls GET /v1/requests/:id until it is completed or failed. */
  async function finished(id: string, timeoutMs = 20_000): Promise<RequestView> {
    return waitFor(
      async () => {
        const { json } = await w.http<RequestView>("GET", `/v1/requests/${id}`);
        return json.status === "completed" || json.status === "failed" ? json : undefined;
      },
      `request ${id} to finish`,
      timeoutMs,
      50,
    );
  }

  const personal = (s: Subject): string[] => [s.email, s.name, s.marker, `${s.marker} Street 1`, `+49 30 ${s.marker}`];

  let erased: { subject: Subject; requestId: string } | undefined;

  it("erases one subject from Postgres, Redis, files and both processors; others untouched; the receipt verifies and names nobody", async () => {
    const url = w.h.appDb.url;
    const a = await w.addSubject("all");
    const b = await w.addSubject("household");
    await shareAddress(url, a.id, b.id);
    const rowsA = await shopSubject(url, a.id);
    const rowsBefore = await rowChecksums(url);
    const before = await w.state();
    // Two subjects: five entries and three look-alike keys each.
    expect(before.redis.size).toBe(2 * (a.redis.length + 3));

    const id = await submit({ email: a.email });
    const call = await mailerCallWhenWaiting(id);
    expect((await w.http<RequestView>("GET", `/v1/requests/${id}`)).json.status).toBe("running");
    const cb = await w.mailer.callBack(call);
    expect(cb.status).toBe(204);
    const view = await finished(id, 15_000);
    expect(view).toMatchObject({ status: "completed", error: null });
    expect(sortAllSteps(view.steps)).toEqual(expectedSteps(rowsA, w.prefix, { sharedAddress: true }));

    // Postgres (SQL): the customer, reviews gone; orders kept masked; tickets anonymized; the
    // household's shared address left; nothing else changed.
    expect(diffChecksums(rowsBefore, await rowChecksums(url))).toEqual({
      removed: sortKeys([`customers:${a.id}`, ...rowsA.reviews.map((r) => `reviews:${r}`)]),
      changed: sortKeys([...rowsA.orders.map((o) => `orders:${o}`), ...rowsA.tickets.map((t) => `support_tickets:${t}`)]),
      added: [],
    });
    expect(await rowsContaining(url, a.email)).toEqual([]);
    expect(await rowsContaining(url, a.name)).toEqual([]);
    expect(await rowsContaining(url, a.marker)).toEqual([`addresses:${rowsA.addressId}`]);
    expect((await rowsContaining(url, b.marker)).length).toBeGreaterThan(0);

    // Redis (SCAN with the subject's own patterns): nothing; everyone else's keys and fields as before.
    const r = w.h.redis;
    const scanned: string[] = [];
    for (const match of [`${w.prefix}:session:${a.id}`, `${w.prefix}:cart:${a.id}:*`, `${w.prefix}:user:${a.email}`]) {
      for await (const keys of r.scanStream({ match, count: 1000 }) as AsyncIterable<string[]>) scanned.push(...keys);
    }
    expect(scanned).toEqual([]);
    expect(await r.hexists(`${w.prefix}:profiles`, String(a.id))).toBe(0);
    expect(await r.hexists(`${w.prefix}:profiles`, String(b.id))).toBe(1);

    // Files (walk): none of the subject's; the look-alikes, the other subject's and outside the root untouched; emptied directories gone.
    const after = await w.state();
    expect([...after.files.keys()].filter((f) => f.includes(`/${a.id}.`) || f.startsWith(`uploads/${a.id}/`))).toEqual([]);
    expect(readTree(w.root).has(`uploads/${a.id}0/x.txt`)).toBe(true);
    expect(existsSync(join(w.root, "uploads", String(a.id)))).toBe(false);

    // Processors: exactly one signed call and one logical erasure each, with the email only.
    for (const p of [w.crm, w.mailer]) {
      const calls = p.callsFor(id);
      expect(calls).toHaveLength(1);
      expect(calls[0]).toMatchObject({ signatureValid: true, idempotencyKey: `erase-${id}-${p.name}` });
      expect(calls[0]!.body!.subject).toEqual({ email: a.email });
      expect(p.erasuresFor(id)).toEqual([`erase-${id}-${p.name}`]);
      expect(p.records.has(a.email)).toBe(false);
      expect(p.records.has(b.email)).toBe(true);
    }
    expect(w.mailer.callbacks.map((c) => c.status)).toEqual([204]);

    // Every store as a whole: exactly the subject's entries are gone.
    expect(after).toEqual(withoutSubjects(before, [a]));

    // The receipt: verifies with the public key, per-store counts, no personal values.
    const receiptRes = await w.http<SignedReceipt>("GET", `/v1/requests/${id}/receipt`);
    expect(receiptRes.status).toBe(200);
    const signed = receiptRes.json;
    const key = await w.http<{ alg: string; publicKeyPem: string; keyId: string }>("GET", "/v1/receipts/public-key");
    expect(key.json.alg).toBe("Ed25519");
    expect(signed.signature.keyId).toBe(key.json.keyId);
    expect(verifyReceipt(signed, key.json.publicKeyPem)).toBe(true);
    const tampered: SignedReceipt = JSON.parse(JSON.stringify(signed)) as SignedReceipt;
    tampered.receipt.stores[0]!.steps[0]!.rows += 1;
    expect(verifyReceipt(tampered, key.json.publicKeyPem)).toBe(false);
    expect(signed.receipt).toMatchObject({ requestId: id, type: "erasure", status: "completed", dryRun: false, verified: true });
    const kinds = Object.fromEntries(signed.receipt.stores.map((s) => [s.store, s.kind]));
    expect(kinds).toEqual({ shop: "postgres", cache: "redis", uploads: "files", crm: "webhook", mailer: "webhook" });
    const fromReceipt = signed.receipt.stores.flatMap((s) => s.steps.map((st) => ({ store: s.store, ...st })));
    expect(sortAllSteps(fromReceipt)).toEqual(expectedSteps(rowsA, w.prefix, { sharedAddress: true }));
    const actions = new Set(fromReceipt.filter((s) => s.rows > 0).map((s) => s.action));
    expect([...actions].sort()).toEqual(["anonymize", "delete", "keep", "notified", "shared"]);
    const text = JSON.stringify(signed);
    for (const v of personal(a)) expect(text).not.toContain(v);

    erased = { subject: a, requestId: id };
  });

  it("accepts a processor's callback only when genuine: forged ones get 401/404 and change nothing; a replayed one gets 409", async () => {
    const c = await w.addSubject("callback");
    const id = await submit({ id: String(c.id) });
    const call = await mailerCallWhenWaiting(id);
    const callbackUrl = call.body!.callbackUrl;
    expect(callbackUrl.startsWith(`${w.api.url}/v1/callbacks/`)).toBe(true);

    // Signed with another secret, or a body other than the one signed, or no signature: 401.
    const forged = await w.mailer.callBack(call, { status: "done" }, { secret: "not-the-processor-secret-000000" });
    expect(forged.status).toBe(401);
    const swapped = await fetch(callbackUrl, { method: "POST", headers: { ...forged.headers }, body: JSON.stringify({ status: "failed" }) });
    expect(swapped.status).toBe(401);
    const unsigned = await fetch(callbackUrl, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ status: "done" }) });
    expect(unsigned.status).toBe(401);
    // A well-signed callback on a token no call has: 404.
    const raw = JSON.stringify({ status: "done" });
    const ts = Math.floor(Date.now() / 1000);
    const wrongToken = await fetch(`${w.api.url}/v1/callbacks/${randomBytes(32).toString("base64url")}`, {
      method: "POST",
      headers: { "content-type": "application/json", "lethe-timestamp": String(ts), "lethe-signature": signLethePayload(MAILER_SECRET, raw, ts) },
      body: raw,
    });
    expect(wrongToken.status).toBe(404);
    const [row] = (await w.h.ds.query(`SELECT status FROM lethe.processor_call WHERE request_id = $1 AND store = 'mailer'`, [id])) as Array<{ status: string }>;
    expect(row!.status).toBe("accepted");
    expect((await w.http<RequestView>("GET", `/v1/requests/${id}`)).json.status).toBe("running");

    const genuine: SentCallback = await w.mailer.callBack(call);
    expect(genuine.status).toBe(204);
    const view = await finished(id, 15_000);
    expect(view.status).toBe("completed");
    const steps = view.steps;

    // The same bytes again (a replay within the signature's 5 minutes): 409, nothing changes.
    expect(await w.mailer.replay(genuine)).toBe(409);
    expect(await w.mailer.replay(genuine)).toBe(409);
    const again = (await w.http<RequestView>("GET", `/v1/requests/${id}`)).json;
    expect(again.status).toBe("completed");
    expect(again.steps).toEqual(steps);
    expect(w.mailer.erasuresFor(id)).toHaveLength(1);
  });

  it("tells the application once per completed request, signed, with ids and codes only", async () => {
    expect(erased).toBeDefined();
    const { subject, requestId } = erased!;
    const mine = () => app.calls.filter((c) => (JSON.parse(c.rawBody) as { requestId: string }).requestId === requestId);
    const [event] = await waitFor(async () => (mine().length > 0 ? mine() : undefined), "the completion callback", 20_000, 50);
    expect(
      verifyLetheSignature({
        secret: APP_SECRET,
        timestamp: event!.headers["lethe-timestamp"] as string,
        signature: event!.headers["lethe-signature"] as string,
        rawBody: event!.rawBody,
      }),
    ).toBe(true);
    expect(event!.headers["idempotency-key"]).toBe(`request.completed-${requestId}`);
    const body = JSON.parse(event!.rawBody) as Record<string, unknown>;
    expect(body).toEqual({
      event: "request.completed",
      requestId,
      type: "erasure",
      status: "completed",
      dryRun: false,
      outcome: "done",
      subjectFound: true,
      verified: true,
      completedAt: expect.any(String),
      error: null,
    });
    for (const v of personal(subject)) expect(event!.rawBody).not.toContain(v);
    // Only one, even once the notification job has ended and the reconciler has had a whole pass.
    await waitForJobState(w.h.maintenanceQueue, `notify-${requestId}-request-completed`);
    await reconcilerPass(worker);
    expect(mine()).toHaveLength(1);
    expect(app.calls.every((c) => (JSON.parse(c.rawBody) as { event: string }).event === "request.completed")).toBe(true);
  });
});
