import type { DataMap } from "../../datamap/schema";
import { ERROR_CODES, PermanentError } from "../../errors";
import type { ExportSink } from "../export-sink";
import type { ExportStoreContext, StoreExporter } from "../store-kind";

/** Why an OpenDSR processor's data is not in the archive; the subject reads it in `processors/<store>.json`. */
export const OPENDSR_NOT_ASKED_REASON =
  "This processor holds data about you on our behalf. Its copy is not in this archive: OpenDSR access requests are answered by the processor with a link of its own, which this version does not fetch. Contact us to receive this data.";

/**
 * The opendsr kind's export: the archive records in `processors/<store>.json` that the
 * processor's data is not in it (an OpenDSR access request is not sent yet), rather than failing
 * the whole export. No URL or key goes into the archive.
 */
export function openDsrExporter(store: string, deps: { dataMap: DataMap }): StoreExporter {
  const spec = deps.dataMap.stores[store];
  if (!spec || spec.kind !== "opendsr") throw new PermanentError(ERROR_CODES.dataMapInvalid, `store "${store}" is not an opendsr store of the data map`);
  const notice = { store, status: "not-exported", reason: OPENDSR_NOT_ASKED_REASON, ...(spec.purpose !== undefined ? { purpose: spec.purpose } : {}) };
  return {
    kind: "opendsr",
    async exportStore(ctx: ExportStoreContext, sink: ExportSink): Promise<void> {
      await sink.add({ path: `processors/${store}.json`, store, contentType: "application/json", source: `${JSON.stringify(notice, null, 2)}\n` });
      ctx.logger.debug({ store }, "OpenDSR processor not asked for an export; noted in the archive");
    },
  };
}
