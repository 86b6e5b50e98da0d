import { readFileSync } from "node:fs";
import type { DataMap } from "../../datamap/schema";
import { certificatesOf } from "../../opendsr/signature";
import { webhookUrlProblem } from "../webhook/check-webhook";
import type { StoreCheckProblem } from "../store-kind";
import type { OpenDsrStoreSpec } from "./schema";

/** `lethe check` rules of opendsr stores. */
export const OPENDSR_CHECK_RULES = ["opendsr-url-invalid", "opendsr-unknown-identity", "opendsr-ca-unreadable"] as const;
/** One of {@link OPENDSR_CHECK_RULES}. */
export type OpenDsrCheckRule = (typeof OPENDSR_CHECK_RULES)[number];

/** Checks one opendsr store's declaration (no call to the processor: `lethe check` stays offline). */
export function checkOpenDsrStore(map: DataMap, name: string, spec: OpenDsrStoreSpec): Array<StoreCheckProblem<OpenDsrCheckRule>> {
  const problems: Array<StoreCheckProblem<OpenDsrCheckRule>> = [];
  const urlProblem = webhookUrlProblem(spec.url);
  if (urlProblem) problems.push({ key: `stores.${name}.url`, rule: "opendsr-url-invalid", message: `the processor URL ${urlProblem}` });
  spec.identities.forEach((i, n) => {
    if (i.identity !== "id" && !(i.identity in map.subject.identities)) {
      const known = ["id", ...Object.keys(map.subject.identities)].join(", ");
      problems.push({
        key: `stores.${name}.identities.${n}.identity`,
        rule: "opendsr-unknown-identity",
        message: `unknown identity "${i.identity}"; the data map knows: ${known}`,
      });
    }
  });
  if (spec.tls.caFile) {
    let count = 0;
    try {
      count = certificatesOf(readFileSync(spec.tls.caFile, "utf8")).length;
    } catch {
      count = 0;
    }
    if (count === 0)
      problems.push({ key: `stores.${name}.tls.caFile`, rule: "opendsr-ca-unreadable", message: "the CA file cannot be read as PEM certificates" });
  }
  return problems;
}
