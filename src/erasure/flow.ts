import { ERROR_CODES, PermanentError, VerificationFailure } from "../errors";
import { assertSameMap } from "../datamap/fingerprint";
import { loadRequest as loadRow, startErasurePrepared, startErasureRun, type LoadedRequest } from "../db/tables/subject-request";
import { isFinal } from "../requests/status";
import { markStoreDone, recordedSteps, recordStore, recordStoresDone } from "../db/tables/request-store";
import type { Logger } from "../logger";
import { ERASE_STORE } from "../queues/jobs/erase-store";
import { FINALIZE_ERASURE } from "../queues/jobs/finalize-erasure";
import { openIdentities, sealIdentities, type SealedIdentities } from "../subject/sealed";
import type { Services } from "../services";
import type { StoreRunContext } from "../stores/store-kind";
import type { StepCount } from "../types";
import { finishRequest } from "./finish-request";
import type { SubjectSnapshot } from "../subject/snapshot";
import { isPermanentSqlState, publicError } from "./public-error";
import { identityHashes } from "../subject/hashes";

/** What the erasure uses of the process's services. */
type ErasureServices = Pick<Services, "ds" | "config" | "dataMap" | "stores" | "flows" | "mapFingerprint">;

/**
 * Loads a request; a permanent error when there is none (a job for an unknown id never succeeds)
 * or when an unfinished one was submitted under another data map (`map_mismatch`).
 */
async function loadRequest(rt: Pick<ErasureServices, "ds" | "mapFingerprint">, requestId: string): Promise<LoadedRequest> {
  const request = await loadRow(rt.ds, requestId);
  if (!request) throw new PermanentError(ERROR_CODES.unknownRequest, "unknown request id");
  if (!isFinal(request.status)) assertSameMap(request.mapFingerprint, rt.mapFingerprint);
  return request;
}

/** What the entry job did. */
export type StartOutcome =
  { state: "flow"; stores: number } | { state: "completed"; subjectFound: boolean; rows: number } | { state: "held" } | { state: "skipped" };

/** What one store's job did. */
export type StoreOutcome = { state: "done"; rows: number; steps?: StepCount[] } | { state: "pending"; checkAgainInMs: number } | { state: "skipped" };

/** Turns a driver error that no retry can fix into a permanent one (message without personal data). */
export function asPermanentIfHopeless(err: unknown, store?: string): unknown {
  if (err instanceof PermanentError || !isPermanentSqlState(err)) return err;
  const e = publicError(err, store);
  return new PermanentError(e.code, e.message, { cause: err });
}

function snapshotOf(sealed: SealedIdentities): SubjectSnapshot | null {
  return sealed.identities && sealed.seed ? { identities: sealed.identities, seed: sealed.seed } : null;
}

/**
 * Resolves the subject in the subject store and seals the snapshot on the request row, the first
 * time only; later attempts reuse it (the subject row may be gone by then). In the same statement
 * the request becomes `running`, or `held` when a legal hold covers any of the subject's
 * identities (previews are never held).
 */
async function snapshotAndHold(
  rt: ErasureServices,
  request: LoadedRequest,
  sealed: SealedIdentities,
): Promise<{ snapshot: SubjectSnapshot | null; held: boolean; started: boolean }> {
  let snapshot = snapshotOf(sealed);
  let resealed: Buffer | null = null;
  if (!snapshot) {
    const store = rt.dataMap.subject.store;
    try {
      const adapter = rt.stores.adapter(store);
      if (!adapter.resolveSubject) throw new PermanentError(ERROR_CODES.dataMapInvalid, `store "${store}" cannot resolve subjects`);
      snapshot = await adapter.resolveSubject(sealed.ref);
    } catch (err) {
      throw asPermanentIfHopeless(err, store);
    }
    if (snapshot)
      resealed = sealIdentities(rt.config.encryptionKey, {
        ref: sealed.ref,
        identities: snapshot.identities,
        seed: snapshot.seed,
        ...(snapshot.contact ? { contact: snapshot.contact } : {}),
      });
  }
  const hashes = snapshot && !request.dryRun ? Object.values(identityHashes(rt.config.hmacKey, { ...snapshot.identities }, rt.dataMap.subject)) : [];
  const { started, holdId } = await startErasureRun(rt.ds, request.id, resealed, hashes);
  return { snapshot, held: Boolean(holdId), started };
}

function contextOf(rt: ErasureServices, requestId: string, store: string, snapshot: SubjectSnapshot, log: Logger): StoreRunContext {
  return { requestId, store, snapshot, logger: log.child({ store }) };
}

/**
 * The entry job: snapshot the subject, wait for a legal hold, preview (dry run), or erase every
 * store and finalize; a store that has to wait (`needsOwnJob`: a processor's 202, or one that is
 * down) continues in a flow — one child per such store, a parent that verifies and finalizes.
 */
export async function startErasure(rt: ErasureServices, requestId: string, log: Logger): Promise<StartOutcome> {
  const request = await loadRequest(rt, requestId);
  if (isFinal(request.status) || request.status === "held") return { state: "skipped" };
  if (!request.identities) throw new PermanentError(ERROR_CODES.badPayload, "request has no identities to work with");
  const sealed = openIdentities(rt.config.encryptionKey, request.identities);
  // The subject's own store is erased first. So are the other stores that never wait (a second
  // database, Redis, files): one after the other in this job, crash-exact (each store's state is
  // recorded; a retry skips what is done). A store that may wait (a processor: `needsOwnJob`) is
  // tried here too; when it answers "later" (202) or cannot be reached now, it continues as the
  // child job of a flow whose parent verifies and finalizes. Without such a child, this job
  // finalizes too: one job for the whole request.
  const subjectStore = rt.dataMap.subject.store;
  const others = rt.stores.names().filter((s) => s !== subjectStore);
  const mayWait = others.filter((s) => rt.stores.adapter(s).needsOwnJob === true);
  const inline = others.filter((s) => !mayWait.includes(s));
  let snapshot: SubjectSnapshot | null;
  let done: StoreOutcome;
  if (!request.dryRun && !snapshotOf(sealed) && rt.stores.adapter(subjectStore).resolveAndErase) {
    // First attempt, and the subject's store can resolve and erase in one transaction.
    const first = await resolveAndEraseSubjectStore(rt, request, sealed, log, { deferDone: true });
    if (first.state === "held") return { state: "held" };
    // Ended meanwhile (an OpenDSR cancellation of a queued request): nothing was erased.
    if (first.state === "ended") return { state: "skipped" };
    snapshot = first.state === "done" ? first.snapshot : null;
    done = first.state === "done" ? { state: "done", rows: first.rows, steps: first.steps } : { state: "skipped" };
    if (!snapshot) {
      log.info({ requestId }, "subject not found; nothing to erase");
      await finishRequest(rt.ds, rt.config.hmacKey, request, null, [], false, rt.dataMap.subject);
      return { state: "completed", subjectFound: false, rows: 0 };
    }
  } else {
    const started = await snapshotAndHold(rt, request, sealed);
    // Ended meanwhile (an OpenDSR cancellation of a queued request): nothing may be erased.
    if (!started.started) return { state: "skipped" };
    snapshot = started.snapshot;
    if (!snapshot) {
      log.info({ requestId }, "subject not found; nothing to erase");
      await finishRequest(rt.ds, rt.config.hmacKey, request, null, [], false, rt.dataMap.subject);
      return { state: "completed", subjectFound: false, rows: 0 };
    }
    if (started.held) {
      log.info({ requestId }, "subject under legal hold; request waits");
      return { state: "held" };
    }
    if (request.dryRun) {
      const steps: StepCount[] = [];
      for (const store of rt.stores.names()) {
        try {
          steps.push(...(await rt.stores.adapter(store).preview(contextOf(rt, requestId, store, snapshot, log))));
        } catch (err) {
          throw asPermanentIfHopeless(err, store);
        }
      }
      await finishRequest(rt.ds, rt.config.hmacKey, request, snapshot.identities, steps, true, rt.dataMap.subject);
      return { state: "completed", subjectFound: true, rows: 0 };
    }
    // The subject's own store is erased right here: the snapshot was just taken from it.
    try {
      // The store's `prepared` row is marked done by the completing statement itself, or (with
      // stores that may wait) with the inline stores' record, before those are tried.
      done = await eraseStoreOf(rt, request, snapshot, subjectStore, log, { deferDone: true });
      if (done.state === "pending") throw new Error(`store "${subjectStore}": the subject's store cannot defer its erasure`);
    } catch (err) {
      throw tagStore(err, subjectStore);
    }
  }
  // Before a store that may wait is tried, the subject store's committed transaction is recorded
  // done (with the inline stores, one statement): a request that then fails or continues in a flow
  // shows it done. Without such a store, the completing statement does it.
  const committed = mayWait.length > 0 && done.state === "done" && rt.stores.adapter(subjectStore).transactionStatus ? [subjectStore] : [];
  const inlineSteps = await eraseInline(rt, request, snapshot, inline, log, committed);
  const tried = await tryWaitingStores(rt, request, snapshot, mayWait, log);
  if (tried.handOff.length === 0) {
    const known = done.state === "done" && done.steps && inlineSteps && tried.steps ? [...done.steps, ...inlineSteps, ...tried.steps] : undefined;
    const finished = await finalizeWith(rt, request, snapshot, log, [subjectStore, ...others], known);
    return { state: "completed", subjectFound: true, rows: finished.rows };
  }
  const children = tried.handOff.map((store) => ERASE_STORE.flowJob(rt.config, { requestId, store }));
  await rt.flows.add(FINALIZE_ERASURE.flowJob(rt.config, { requestId }, {}, children));
  return { state: "flow", stores: children.length + 1 };
}

/**
 * The stores that may wait, tried once by the entry job, together: those that finished are done
 * (recorded), those that answered "later" or could not be reached now (any error a retry may fix)
 * are handed to a job of their own, which waits and retries as it always does. An error no retry
 * can fix fails the request, naming the store.
 */
async function tryWaitingStores(
  rt: ErasureServices,
  request: LoadedRequest,
  snapshot: SubjectSnapshot,
  stores: string[],
  log: Logger,
): Promise<{ handOff: string[]; steps: StepCount[] | undefined }> {
  const results = await Promise.allSettled(stores.map((store) => eraseStoreOf(rt, request, snapshot, store, log)));
  const handOff: string[] = [];
  const steps: StepCount[] = [];
  let known = true;
  for (const [i, r] of results.entries()) {
    const store = stores[i]!;
    if (r.status === "rejected") {
      if (r.reason instanceof PermanentError) throw tagStore(r.reason, store);
      log.info({ requestId: request.id, store }, "store not erased yet; it continues in a job of its own");
      handOff.push(store);
    } else if (r.value.state === "pending") handOff.push(store);
    else if (r.value.state === "done" && r.value.steps) steps.push(...r.value.steps);
    else known = false;
  }
  return { handOff, steps: known ? steps : undefined };
}

/**
 * The first attempt of an erasure whose subject store resolves and erases in one transaction
 * (postgres): the subject row is found, locked, snapshotted and erased with everything of theirs,
 * and verified; before COMMIT one statement seals the snapshot on the request, checks legal holds
 * and records the store `prepared` with its xid and steps (the request becomes `running`). A hold
 * rolls the store transaction back and the request waits. Not found: nothing changed.
 */
async function resolveAndEraseSubjectStore(
  rt: ErasureServices,
  request: LoadedRequest,
  sealed: SealedIdentities,
  log: Logger,
  options: { deferDone: boolean },
): Promise<{ state: "done"; snapshot: SubjectSnapshot; steps: StepCount[]; rows: number } | { state: "held" } | { state: "ended" } | { state: "not-found" }> {
  const requestId = request.id;
  const store = rt.dataMap.subject.store;
  let held = false;
  let ended = false;
  let erased: { snapshot: SubjectSnapshot; steps: StepCount[] } | null;
  try {
    erased = await rt.stores.adapter(store).resolveAndErase!(sealed.ref, async (snapshot, steps, xid) => {
      const resealed = sealIdentities(rt.config.encryptionKey, {
        ref: sealed.ref,
        identities: snapshot.identities,
        seed: snapshot.seed,
        ...(snapshot.contact ? { contact: snapshot.contact } : {}),
      });
      const hashes = Object.values(identityHashes(rt.config.hmacKey, { ...snapshot.identities }, rt.dataMap.subject));
      const run = await startErasurePrepared(rt.ds, { requestId, resealed, holdHashes: hashes, store, steps, xid });
      if (!run.started) {
        ended = true;
        throw new Error("the request ended meanwhile: the store transaction is rolled back");
      }
      if (run.holdId) {
        held = true;
        throw new Error("legal hold: the store transaction is rolled back");
      }
    });
  } catch (err) {
    if (ended) {
      log.info({ requestId }, "request ended before its erasure started (cancelled); nothing erased");
      return { state: "ended" };
    }
    if (held) {
      log.info({ requestId }, "subject under legal hold; request waits");
      return { state: "held" };
    }
    // Finding the subject failed (ambiguous, unknown identity): the request's fault, not the store's.
    if (err instanceof PermanentError && (err.code === ERROR_CODES.subjectAmbiguous || err.code === ERROR_CODES.badPayload)) throw err;
    throw tagStore(asPermanentIfHopeless(err, store), store);
  }
  if (!erased) return { state: "not-found" };
  if (!options.deferDone) await markStoreDone(rt.ds, requestId, store);
  const rows = erased.steps.filter((s) => s.action === "delete" || s.action === "anonymize").reduce((n, s) => n + s.rows, 0);
  return { state: "done", snapshot: erased.snapshot, steps: erased.steps, rows };
}

/**
 * The entry job's inline stores: transactional ones (with a recorded xid) one at a time, the
 * others (Redis, files) at once, their states recorded together in one statement — also when
 * one of them failed, so a retry does not erase the others again. The steps of all, or undefined
 * when a store was done by an earlier attempt (its steps are then read back when finalizing).
 */
async function eraseInline(
  rt: ErasureServices,
  request: LoadedRequest,
  snapshot: SubjectSnapshot,
  stores: string[],
  log: Logger,
  committed: string[] = [],
): Promise<StepCount[] | undefined> {
  const steps = new Map<string, StepCount[] | undefined>();
  const transactional = stores.filter((s) => rt.stores.adapter(s).transactionStatus);
  for (const store of transactional) {
    try {
      const outcome = await eraseStoreOf(rt, request, snapshot, store, log);
      if (outcome.state === "pending") throw new Error(`store "${store}": an erasure that waits needs a job of its own (needsOwnJob)`);
      steps.set(store, outcome.state === "done" ? outcome.steps : undefined);
    } catch (err) {
      throw tagStore(err, store);
    }
  }
  const collected: Array<{ store: string; steps: StepCount[] }> = [];
  const rest = stores.filter((s) => !transactional.includes(s));
  const results = await Promise.allSettled(
    rest.map(async (store) => {
      const outcome = await eraseStoreOf(rt, request, snapshot, store, log, { collect: (s) => collected.push({ store, steps: s }) });
      if (outcome.state === "pending") throw new Error(`store "${store}": an erasure that waits needs a job of its own (needsOwnJob)`);
      steps.set(store, outcome.state === "done" ? outcome.steps : undefined);
    }),
  );
  await recordStoresDone(rt.ds, request.id, collected, committed);
  const failed = results.findIndex((r) => r.status === "rejected");
  if (failed >= 0) throw tagStore((results[failed] as PromiseRejectedResult).reason, rest[failed]!);
  const all = stores.map((s) => steps.get(s));
  return all.every((s) => s !== undefined) ? all.flat() : undefined;
}

/** Marks an error with the store it came from, so the request's failure names that store. */
export function tagStore(err: unknown, store: string): unknown {
  if (err instanceof Error && (err as { store?: unknown }).store === undefined) Object.defineProperty(err, "store", { value: store, enumerable: false });
  return err;
}

/** The store an error was tagged with by {@link tagStore}, if any. */
export function storeOfError(err: unknown): string | undefined {
  const store = (err as { store?: unknown } | null)?.store;
  return typeof store === "string" ? store : undefined;
}

/** One store's erasure: resumable, idempotent, recorded. */
export async function eraseOneStore(rt: ErasureServices, requestId: string, store: string, log: Logger): Promise<StoreOutcome> {
  const request = await loadRequest(rt, requestId);
  if (isFinal(request.status)) return { state: "skipped" };
  const snapshot = request.identities ? snapshotOf(openIdentities(rt.config.encryptionKey, request.identities)) : null;
  if (!snapshot) throw new PermanentError(ERROR_CODES.badPayload, "the request has no snapshot; its entry job must run first");
  return eraseStoreOf(rt, request, snapshot, store, log);
}

async function eraseStoreOf(
  rt: ErasureServices,
  request: LoadedRequest,
  snapshot: SubjectSnapshot,
  store: string,
  log: Logger,
  options: { deferDone?: boolean; collect?: (steps: StepCount[]) => void } = {},
): Promise<StoreOutcome> {
  const requestId = request.id;
  const adapter = rt.stores.adapter(store);
  const prior = request.stores.find((s) => s.store === store);
  if (prior?.status === "done") return { state: "done", rows: 0 };
  try {
    if (prior?.status === "prepared" && prior.xid && adapter.transactionStatus) {
      const status = await adapter.transactionStatus(prior.xid);
      if (status === "in progress") throw new Error(`store "${store}": the previous attempt's transaction is still open`);
      if (status === "committed") {
        log.info({ requestId, store }, "previous attempt committed; recording it");
        await markStoreDone(rt.ds, requestId, store);
        return { state: "done", rows: 0 };
      }
    }
    let recorded: "prepared" | "done" | null = null;
    const outcome = await adapter.erase(contextOf(rt, requestId, store, snapshot, log), async (steps, xid) => {
      // `collect`: a store without a transaction is recorded by the caller, with others, in one statement.
      if (options.collect && !xid) return;
      // With a transaction to commit, `prepared` with its xid; without one (a processor), `done` at once.
      recorded = xid ? "prepared" : "done";
      await recordStore(rt.ds, requestId, store, steps, recorded, xid ?? null);
    });
    if (outcome.state === "pending") return { state: "pending", checkAgainInMs: outcome.checkAgainInMs };
    if (recorded === null && options.collect) options.collect(outcome.steps);
    else if (recorded === null) await recordStore(rt.ds, requestId, store, outcome.steps, "done", null);
    else if (recorded === "prepared" && !options.deferDone) await markStoreDone(rt.ds, requestId, store);
    return {
      state: "done",
      rows: outcome.steps.filter((s) => s.action === "delete" || s.action === "anonymize").reduce((n, s) => n + s.rows, 0),
      steps: outcome.steps,
    };
  } catch (err) {
    throw asPermanentIfHopeless(err, store);
  }
}

/**
 * The parent: every store is done; re-locate the subject in every store and require that nothing
 * identifying remains (kept rows masked as declared), then complete the request. Postgres stores
 * were verified inside their erasure transaction (a leftover rolls it back), so they are not
 * queried again.
 */
export async function finalizeErasure(rt: ErasureServices, requestId: string, log: Logger): Promise<{ state: "completed" | "skipped"; rows: number }> {
  const request = await loadRequest(rt, requestId);
  if (isFinal(request.status)) return { state: "skipped", rows: 0 };
  const snapshot = request.identities ? snapshotOf(openIdentities(rt.config.encryptionKey, request.identities)) : null;
  if (!snapshot) throw new PermanentError(ERROR_CODES.badPayload, "the request has no snapshot");
  return finalizeWith(rt, request, snapshot, log);
}

/**
 * Verifies and completes. `doneNow` are stores this job has just finished (not yet in
 * `request.stores`); `knownSteps`, when this job holds every step already, saves reading them back.
 */
async function finalizeWith(
  rt: ErasureServices,
  request: LoadedRequest,
  snapshot: SubjectSnapshot,
  log: Logger,
  doneNow: string[] = [],
  knownSteps?: StepCount[],
): Promise<{ state: "completed"; rows: number }> {
  const requestId = request.id;
  const unfinished = rt.stores.names().filter((s) => !doneNow.includes(s) && request.stores.find((r) => r.store === s)?.status !== "done");
  if (unfinished.length > 0) throw new Error(`stores not done yet: ${unfinished.join(", ")}`);
  const leftovers: string[] = [];
  const checked: string[] = [];
  for (const store of rt.stores.names()) {
    // A store that verified inside its own transaction, before COMMIT, is verified already.
    if (rt.stores.adapter(store).verifiesBeforeCommit) {
      checked.push(store);
      continue;
    }
    try {
      leftovers.push(...(await rt.stores.adapter(store).verify(contextOf(rt, requestId, store, snapshot, log))));
      checked.push(store);
    } catch (err) {
      throw asPermanentIfHopeless(err, store);
    }
  }
  // Retryable: a leftover seen now may be someone else's change racing this erasure (a sweep
  // re-masking a customer); the next attempt re-runs the stores' idempotent erasure and checks again.
  if (leftovers.length > 0) throw new VerificationFailure(leftovers);
  const steps = knownSteps ?? (await recordedSteps(rt.ds, requestId));
  const verified = checked.length === rt.stores.names().length;
  await finishRequest(rt.ds, rt.config.hmacKey, request, snapshot.identities, steps, true, rt.dataMap.subject, verified);
  const rows = steps.filter((s) => s.action === "delete" || s.action === "anonymize").reduce((n, s) => n + s.rows, 0);
  log.info({ requestId, stores: rt.stores.names().length, rows }, "erasure completed");
  return { state: "completed", rows };
}
