import type { StoreKind } from "../store-kind";
import { checkWebhookStore, WEBHOOK_CHECK_RULES, type WebhookCheckRule } from "./check-webhook";
import { webhookExporter } from "./exporter";
import { WEBHOOK_STORE_SCHEMA } from "./schema";
import { WEBHOOK_RIGHTS } from "./tell";
import { webhookAdapter } from "./webhook-adapter";

/**
 * The webhook store kind: a third-party processor told over signed HTTP to erase the subject
 * (Art. 17, 19); its calls live in `lethe.processor_call`. Its data is not in an export yet (the
 * archive says so in `processors/<store>.json`); the info sheet lists it as a recipient.
 */
export const webhookKind: StoreKind<typeof WEBHOOK_STORE_SCHEMA, WebhookCheckRule> = {
  kind: "webhook",
  schema: WEBHOOK_STORE_SCHEMA,
  sweeps: false,
  interpolate(spec, fill) {
    spec.url = fill("url", spec.url);
    spec.secret = fill("secret", spec.secret);
  },
  checkRules: WEBHOOK_CHECK_RULES,
  check: async (map, name, spec) => checkWebhookStore(map, name, spec),
  summary: () => "webhook",
  adapter: webhookAdapter,
  exporter: webhookExporter,
  describe: (_store, spec) => ({ rows: [], processor: { purpose: spec.purpose } }),
  rights: WEBHOOK_RIGHTS,
};
