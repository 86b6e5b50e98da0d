import { UnrecoverableError, type Job } from "bullmq";
import { isLastAttempt } from "../../jobs/job-failure";
import { publicError } from "../../src/erasure/public-error";
import { ERROR_CODES, PermanentError, RetryableFailure, VerificationFailure } from "../../src/errors";
import { LeftoversError } from "../../src/stores/postgres/erase";

/** Issue 9, item 14: a failed verification is retried up to LETHE_JOB_ATTEMPTS, then fails the request with its code. */
describe("verification failures are retryable", () => {
  const job = (attemptsMade: number, attempts = 8) => ({ attemptsMade, opts: { attempts } }) as unknown as Job;

  it("is not an UnrecoverableError (BullMQ retries it) and keeps its code for the request's failure", () => {
    for (const err of [new VerificationFailure(["shop.support_tickets: 2 row(s) still present"]), new LeftoversError(["shop.t: 1 row(s) still present"])]) {
      expect(err).toBeInstanceOf(RetryableFailure);
      expect(err).not.toBeInstanceOf(UnrecoverableError);
      expect(err).not.toBeInstanceOf(PermanentError);
      expect(err.name).not.toBe("UnrecoverableError");
      expect(publicError(err).code).toBe(ERROR_CODES.verifyFailed);
      expect(publicError(err).message).toMatch(/^verification failed: shop\./);
      expect(isLastAttempt(job(0), err)).toBe(false);
      expect(isLastAttempt(job(6), err)).toBe(false);
      expect(isLastAttempt(job(7), err)).toBe(true);
    }
  });
});
