import { z } from "zod";
import { kindOf } from "../stores/registry";
import type { SubjectField } from "../stores/rights-side";

/**
 * What the data map says about the other rights (issue 13): how rectifications are handled, and
 * the cross-references the rights rely on — a purpose's processors and fields, a recipient's
 * processor, each store's references to the subject's fields (`mirrors`, `holds`, `fields`).
 */

/** `rectification`: how rectifications (Art. 16) are handled. */
export const RECTIFICATION_SCHEMA = z
  .object({
    /** Each rectification waits for a `dpo` key to approve or reject it. (Default: false) */
    requiresApproval: z.boolean().default(false),
  })
  .strict();

/** The parts of a data map the rights read (so this module does not import the whole schema). */
interface RightsMapView {
  subject: { store: string; table: string };
  stores: Record<string, { kind: string }>;
  purposes: Array<{ name: string; basis?: string | undefined; processors: string[]; erasedOnWithdrawal: string[] }>;
  recipients: Array<{ name: string; store?: string | undefined }>;
}

/** The subject's fields, as the subject store's kind declares them (data-map names). */
export function subjectFieldsOf(map: RightsMapView): SubjectField[] {
  const spec = map.stores[map.subject.store];
  if (!spec) return [];
  return kindOf(spec).rights?.subjectFields?.(map as never, map.subject.store, spec as never) ?? [];
}

/** `customers.email` → `email` when `customers` is the subject table. */
export function shortField(map: Pick<RightsMapView, "subject">, name: string): string {
  return name.startsWith(`${map.subject.table}.`) ? name.slice(map.subject.table.length + 1) : name;
}

/** True when `store` is a processor (a recipient told through its kind's rights side). */
export function isRecipientStore(map: Pick<RightsMapView, "stores">, store: string): boolean {
  const spec = map.stores[store];
  return spec !== undefined && kindOf(spec).rights?.isRecipient === true;
}

/** Reports the rights' cross-reference problems of a parsed data map through `issue`. */
export function refineRights(map: RightsMapView, issue: (path: Array<string | number>, message: string) => void): void {
  const fields = subjectFieldsOf(map);
  const byName = new Map(fields.map((f) => [f.name, f]));
  const names = new Set<string>();
  map.purposes.forEach((p, i) => {
    if (names.has(p.name)) issue(["purposes", i, "name"], `purpose "${p.name}" is declared twice`);
    names.add(p.name);
    p.processors.forEach((store, j) => {
      if (!isRecipientStore(map, store))
        issue(["purposes", i, "processors", j], `"${store}" is not a processor (a store told of requests, e.g. of kind webhook)`);
    });
    p.erasedOnWithdrawal.forEach((name, j) => {
      if (!byName.has(shortField(map, name))) issue(["purposes", i, "erasedOnWithdrawal", j], `"${name}" is not a personal field of the subject`);
    });
    if (p.erasedOnWithdrawal.length > 0 && p.basis !== "6(1)(a)") {
      issue(["purposes", i, "basis"], 'only consent can be withdrawn: a purpose with erasedOnWithdrawal needs "basis": "6(1)(a)"');
    }
  });
  map.recipients.forEach((r, i) => {
    if (r.store !== undefined && !isRecipientStore(map, r.store))
      issue(["recipients", i, "store"], `"${r.store}" is not a processor (a store told of requests, e.g. of kind webhook)`);
  });
  for (const [name, spec] of Object.entries(map.stores)) {
    for (const ref of kindOf(spec).rights?.fieldRefs?.(spec as never) ?? []) {
      const field = byName.get(shortField(map, ref.field));
      if (!field || !field.onSubjectTable) {
        issue(["stores", name, ...ref.path], `"${ref.field}" is not a personal field of the subject table "${map.subject.table}"`);
      }
    }
  }
}
