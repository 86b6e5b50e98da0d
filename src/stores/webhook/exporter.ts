import type { DataMap } from "../../datamap/schema";
import { ERROR_CODES, PermanentError } from "../../errors";
import type { ExportSink } from "../export-sink";
import type { ExportStoreContext, StoreExporter } from "../store-kind";

/** Why a processor's data is not in the archive; the subject reads it in `processors/<store>.json`. */
export const PROCESSOR_NOT_ASKED_REASON =
  "This processor holds data about you on our behalf. It was not asked for a copy: our processor protocol reserves an export call, but it is not implemented yet. Contact us to receive this data.";

/** `processors/<store>.json`: the record that a processor's data is not in the archive. */
export interface ProcessorNotice {
  store: string;
  status: "not-exported";
  reason: string;
  /** The data map's purpose of the processor, when declared. */
  purpose?: string;
}

/**
 * The webhook store kind's export, for now: the processor is not called (the protocol reserves
 * `action: "export"`, nothing implements it), and the archive says so in
 * `processors/<store>.json` instead of failing the whole export. The info sheet lists the
 * processor as a recipient. No URL or secret goes into the archive.
 */
export function webhookExporter(store: string, deps: { dataMap: DataMap }): StoreExporter {
  const spec = deps.dataMap.stores[store];
  if (!spec || spec.kind !== "webhook") throw new PermanentError(ERROR_CODES.dataMapInvalid, `store "${store}" is not a webhook store of the data map`);
  const notice: ProcessorNotice = {
    store,
    status: "not-exported",
    reason: PROCESSOR_NOT_ASKED_REASON,
    ...(spec.purpose !== undefined ? { purpose: spec.purpose } : {}),
  };
  return {
    kind: "webhook",
    async exportStore(ctx: ExportStoreContext, sink: ExportSink): Promise<void> {
      await sink.add({ path: `processors/${store}.json`, store, contentType: "application/json", source: `${JSON.stringify(notice, null, 2)}\n` });
      ctx.logger.debug({ store }, "processor not asked for an export; noted in the archive");
    },
  };
}
