import { DelayedError } from "bullmq";
import { NoticeCache } from "../src/incidents/notice-cache";
import { sendNotice } from "../src/incidents/send-notice";
import { SEND_NOTICE } from "../src/queues/jobs/send-notice";
import { processorOf } from "./handler";
import { isLastAttempt } from "./job-failure";

/** The process's rendered notices (a notice version never changes). */
const cache = new NoticeCache();

/**
 * Sends one person's notice (`incidents/send-notice`). A row another live worker holds makes the
 * job wait (moved to delayed, no attempt used); a throttling answer moves it back to waiting.
 */
export const sendNoticeJob = processorOf(SEND_NOTICE, (payload, job, { services, logger, token }) =>
  sendNotice(services, cache, payload.notificationId, {
    lastAttempt: isLastAttempt(job, null),
    log: logger,
    delay: async (ms) => {
      await job.moveToDelayed(Date.now() + ms, token);
      throw new DelayedError();
    },
  }),
);
