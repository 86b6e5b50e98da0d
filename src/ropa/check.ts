import type { DataMap } from "../datamap/schema";
import { holdingsOf } from "./register";

/** One drift between the register and what Lethe enforces: where, and what to change. */
export interface RegisterDrift {
  rule: "personal-data-without-purpose" | "undeclared-purpose" | "processor-without-country" | "transfer-without-safeguard" | "retention-not-enforced";
  where: string;
  message: string;
}

/**
 * `lethe ropa check`: the register must stay true without anyone rewriting it. Fails on personal
 * data in no purpose (or in a purpose the map does not declare), a processor without a country,
 * a third-country transfer without a safeguard, and a declared storage period no retention policy
 * enforces.
 */
export function checkRegister(dataMap: DataMap): RegisterDrift[] {
  const drift: RegisterDrift[] = [];
  const { holdings, processors } = holdingsOf(dataMap);
  const declared = new Set(dataMap.purposes.map((p) => p.name));
  for (const h of holdings) {
    const fields = Object.values(h.categories).flat();
    const where = `${h.store}.${h.where}`;
    if (fields.length > 0 && !h.purpose) {
      drift.push({ rule: "personal-data-without-purpose", where, message: `holds personal data (${fields.join(", ")}) but names no purpose: add "purpose"` });
    } else if (h.purpose && declared.size > 0 && !declared.has(h.purpose)) {
      drift.push({ rule: "undeclared-purpose", where, message: `names the purpose "${h.purpose}", which "purposes" does not declare (with its lawful basis)` });
    }
    if (h.period && !dataMap.retention.some((p) => p.store === h.store && p.table === h.where)) {
      drift.push({
        rule: "retention-not-enforced",
        where,
        message: `declares a storage period ${h.period} but no retention policy enforces it: add a policy, or remove "retention"`,
      });
    }
  }
  for (const p of processors) {
    const recipient = dataMap.recipients.find((r) => r.store === p.store);
    if (!recipient?.country) {
      drift.push({
        rule: "processor-without-country",
        where: p.store,
        message: recipient
          ? `the processor's recipient "${recipient.name}" declares no "country"`
          : `no recipient declares this processor ("store": "${p.store}") with its country`,
      });
    }
  }
  for (const r of dataMap.recipients) {
    if (r.thirdCountry && !r.safeguards) {
      drift.push({
        rule: "transfer-without-safeguard",
        where: `recipient ${r.name}`,
        message: `transfers to ${r.thirdCountry} without "safeguards" (Art. 46)`,
      });
    }
  }
  for (const p of dataMap.retention) {
    if (declared.size > 0 && !declared.has(p.purpose)) {
      drift.push({
        rule: "undeclared-purpose",
        where: `retention ${p.name}`,
        message: `enforces the purpose "${p.purpose}", which "purposes" does not declare`,
      });
    }
  }
  return drift;
}
