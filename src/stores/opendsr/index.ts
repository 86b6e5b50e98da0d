import type { StoreKind } from "../store-kind";
import { openDsrAdapter } from "./adapter";
import { checkOpenDsrStore, OPENDSR_CHECK_RULES, type OpenDsrCheckRule } from "./check";
import { openDsrExporter } from "./exporter";
import { OPENDSR_STORE_SCHEMA } from "./schema";

/**
 * The opendsr store kind: a processor that implements OpenDSR 2.0, sent erasure requests with
 * Lethe as its controller (docs/opendsr.md); its requests live in `lethe.opendsr_call`. The
 * other rights (rectification, restriction, objection) have no OpenDSR request type: such a
 * processor is not told of them (declare a webhook store for those). The info sheet lists it as
 * a recipient.
 */
export const openDsrKind: StoreKind<typeof OPENDSR_STORE_SCHEMA, OpenDsrCheckRule> = {
  kind: "opendsr",
  schema: OPENDSR_STORE_SCHEMA,
  sweeps: false,
  interpolate(spec, fill) {
    spec.url = fill("url", spec.url);
    if (spec.apiKey !== undefined) spec.apiKey = fill("apiKey", spec.apiKey);
    if (spec.tls.caFile !== undefined) spec.tls.caFile = fill("tls.caFile", spec.tls.caFile);
  },
  checkRules: OPENDSR_CHECK_RULES,
  check: async (map, name, spec) => checkOpenDsrStore(map, name, spec),
  summary: () => "OpenDSR processor",
  adapter: openDsrAdapter,
  exporter: openDsrExporter,
  describe: (_store, spec) => ({ rows: [], processor: { purpose: spec.purpose } }),
};
