import type { SignedReceipt } from "../../src/receipts/receipt";
import { verifyReceipt } from "../../src/receipts/receipt";
import type { RequestView } from "../../src/requests/view";
import { rowChecksums } from "../helpers/row-checksums";
import { shopSubject } from "../helpers/shop";
import { waitFor } from "../helpers/wait";
import { createMultiStore, expectedSteps, sortAllSteps, stepRows, storeRows, type MultiStore } from "./fixture";
import type { Answer } from "../helpers/fake-processor";

/**
 * Issue #3: a processor that is down is retried with the same Idempotency-Key until it is up; a
 * processor that rejects the call (400) fails the request naming the store, without personal
 * data; `POST /v1/requests/:id/retry` after the processor is fixed finishes the request without
 * redoing the stores that were done.
 */
jest.setTimeout(60_000);

const OTHERS = ["cache", "crm", "shop", "uploads"];

describe("a processor that is down, then one that rejects", () => {
  let w: MultiStore;

  beforeAll(async () => {
    // The mailer's port is reserved but nothing listens: connection refused.
    w = await createMultiStore({ mailerDown: true, mailer: () => ({ status: 200 }) });
    await w.startWorker();
  });

  afterAll(async () => {
    await w?.cleanup();
  });

  async function callRow(requestId: string): Promise<{ status: string; attempts: number; last_http_status: number | null } | undefined> {
    const rows = (await w.h.ds.query(`SELECT status, attempts, last_http_status FROM lethe.processor_call WHERE request_id = $1 AND store = 'mailer'`, [
      requestId,
    ])) as Array<{
      status: string;
      attempts: number;
      last_http_status: number | null;
    }>;
    return rows[0];
  }

  const othersDone = async (requestId: string): Promise<boolean> => {
    const s = await storeRows(w.h, requestId);
    return OTHERS.every((n) => s[n] === "done");
  };

  it("retries a refused connection, then a 503, with the same Idempotency-Key and body, and completes once the processor is up", async () => {
    const a = await w.addSubject("down");
    const rowsA = await shopSubject(w.h.appDb.url, a.id);
    const { json, status } = await w.http<{ id: string }>("POST", "/v1/requests", { type: "erasure", subject: { id: String(a.id) } });
    expect(status).toBe(202);
    const id = json.id;

    // Refused at least twice (no HTTP status), while every other store finished on its own.
    await waitFor(
      async () => {
        const row = await callRow(id);
        return row && row.attempts >= 2 && (await othersDone(id)) ? row : undefined;
      },
      "two refused attempts and the other stores done",
      20_000,
      50,
    );
    const refused = (await callRow(id))!;
    expect(refused).toMatchObject({ status: "sent", last_http_status: null });
    expect(w.mailer.calls).toHaveLength(0);
    expect((await w.http<RequestView>("GET", `/v1/requests/${id}`)).json.status).toBe("running");

    // Up, but busy once (503), then fine.
    let answered = 0;
    w.mailer.answer = (): Answer => ({ status: answered++ === 0 ? 503 : 200 });
    await w.mailer.listen();
    const view = await w.h.waitForStatus(id, ["completed", "failed"], 30_000);
    expect(view.status).toBe("completed");
    expect(sortAllSteps(view.steps)).toEqual(expectedSteps(rowsA, w.prefix));

    const calls = w.mailer.callsFor(id);
    expect(calls).toHaveLength(2);
    expect(new Set(calls.map((c) => c.idempotencyKey))).toEqual(new Set([`erase-${id}-mailer`]));
    expect(new Set(calls.map((c) => c.rawBody)).size).toBe(1);
    expect(calls.every((c) => c.signatureValid)).toBe(true);
    expect(w.mailer.erasuresFor(id)).toEqual([`erase-${id}-mailer`]);
    expect(w.mailer.records.has(a.email)).toBe(false);
    const done = (await callRow(id))!;
    expect(done).toMatchObject({ status: "done", last_http_status: 200 });
    // The refused attempts, the 503 and the 200 were all counted on the one call.
    expect(done.attempts).toBeGreaterThanOrEqual(refused.attempts + 2);
    expect(w.crm.callsFor(id)).toHaveLength(1);
  });

  it("fails on a 400 naming the store and no personal data; a retry after the fix finishes without redoing the finished stores", async () => {
    const b = await w.addSubject("rejected");
    const rowsB = await shopSubject(w.h.appDb.url, b.id);
    let requestId = "";
    // Answer only once every other store has finished, so the failure is the processor's alone.
    w.mailer.answer = async (): Promise<Answer> => {
      await waitFor(async () => ((await othersDone(requestId)) ? true : undefined), "the other stores", 20_000, 50);
      return { status: 400 };
    };
    const res = await w.http<{ id: string }>("POST", "/v1/requests", { type: "erasure", subject: { email: b.email } });
    requestId = res.json.id;
    const id = requestId;

    const failed = await waitFor(
      async () => {
        const v = (await w.http<RequestView>("GET", `/v1/requests/${id}`)).json;
        return v.status === "failed" || v.status === "completed" ? v : undefined;
      },
      "the request to fail",
      20_000,
      50,
    );
    expect(failed.status).toBe("failed");
    expect(failed.error).toEqual({ code: "processor_rejected", message: expect.stringContaining('store "mailer"') });
    expect(failed.error!.message).toContain("400");
    for (const v of [b.email, b.name, b.marker, String(b.id)]) expect(failed.error!.message).not.toContain(v);
    const stores = await storeRows(w.h, id);
    expect(stores).toMatchObject({ shop: "done", cache: "done", uploads: "done", crm: "done" });
    expect(stores.mailer).not.toBe("done");
    expect((await w.http("GET", `/v1/requests/${id}/receipt`)).status).toBe(409);

    const stepsBefore = (await stepRows(w.h, id)).filter((s) => s.store !== "mailer");
    const finishedAt = (await w.h.ds.query(`SELECT store, finished_at FROM lethe.request_store WHERE request_id = $1 AND store <> 'mailer' ORDER BY store`, [
      id,
    ])) as unknown[];
    const rowsBefore = await rowChecksums(w.h.appDb.url);
    const stateBefore = await w.state();
    expect(w.crm.callsFor(id)).toHaveLength(1);
    expect(w.mailer.callsFor(id)).toHaveLength(1);

    // The processor is fixed; the operator retries.
    w.mailer.answer = () => ({ status: 200 });
    const retry = await w.http<{ id: string; status: string }>("POST", `/v1/requests/${id}/retry`);
    expect(retry).toEqual({ status: 202, json: { id, status: "queued" } });
    const view = await w.h.waitForStatus(id, ["completed", "failed"], 20_000);
    expect(view).toMatchObject({ status: "completed", error: null });
    expect(sortAllSteps(view.steps)).toEqual(expectedSteps(rowsB, w.prefix));

    // The finished stores were not redone: same step rows (ids and counts), same finish times, no change in any store, crm not called again.
    expect((await stepRows(w.h, id)).filter((s) => s.store !== "mailer")).toEqual(stepsBefore);
    expect(await w.h.ds.query(`SELECT store, finished_at FROM lethe.request_store WHERE request_id = $1 AND store <> 'mailer' ORDER BY store`, [id])).toEqual(
      finishedAt,
    );
    expect(await rowChecksums(w.h.appDb.url)).toEqual(rowsBefore);
    const stateAfter = await w.state();
    expect({ ...stateAfter, mailer: [] }).toEqual({ ...stateBefore, mailer: [] });
    expect(w.crm.callsFor(id)).toHaveLength(1);
    // The processor was called again with the same key and erased once.
    const calls = w.mailer.callsFor(id);
    expect(calls).toHaveLength(2);
    expect(new Set(calls.map((c) => c.idempotencyKey))).toEqual(new Set([`erase-${id}-mailer`]));
    expect(w.mailer.erasuresFor(id)).toHaveLength(1);
    expect(w.mailer.records.has(b.email)).toBe(false);

    const signed = (await w.http<SignedReceipt>("GET", `/v1/requests/${id}/receipt`)).json;
    const key = (await w.http<{ publicKeyPem: string }>("GET", "/v1/receipts/public-key")).json;
    expect(verifyReceipt(signed, key.publicKeyPem)).toBe(true);
    expect(sortAllSteps(signed.receipt.stores.flatMap((s) => s.steps.map((st) => ({ store: s.store, ...st }))))).toEqual(expectedSteps(rowsB, w.prefix));
  });
});
