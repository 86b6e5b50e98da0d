import { SEND_NOTICE } from "../src/queues/jobs/send-notice";
import { processorOf } from "./handler";
import { runNoticeChunk } from "./send-notices";

/**
 * One person's notice, as queued before notices went out in chunks: a chunk of one through the
 * same notice sender (`send-notices`), so both kinds of job keep the same terms.
 */
export const sendNoticeJob = processorOf(SEND_NOTICE, (payload, job, ctx) => runNoticeChunk([payload.notificationId], null, job, ctx));
