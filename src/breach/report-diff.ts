import { isToFollow, type Report } from "./report";

/** One changed field between two report versions. `before`/`after` are absent when the field is. */
export interface ReportChange {
  /** Dotted path, e.g. `nature.approxSubjects`. */
  path: string;
  before?: unknown;
  after?: unknown;
}

/** Fields that identify a version rather than describe the incident; never listed as changes. */
export const REPORT_META_FIELDS: ReadonlySet<string> = new Set(["incidentId", "version", "kind", "submittedAt"]);

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v) && !isToFollow(v);

/** Structural equality of JSON values (key order ignored). */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  if (typeof a === "object" && typeof b === "object" && a !== null && b !== null && !Array.isArray(a) && !Array.isArray(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return false;
}

function walk(before: unknown, after: unknown, path: string, out: ReportChange[]): void {
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    for (const k of keys) {
      if (path === "" && REPORT_META_FIELDS.has(k)) continue;
      walk(before[k], after[k], path ? `${path}.${k}` : k, out);
    }
    return;
  }
  if (sameValue(before, after)) return;
  const change: ReportChange = { path };
  if (before !== undefined) change.before = before;
  if (after !== undefined) change.after = after;
  out.push(change);
}

/**
 * The fields that differ between two versions, in document order: objects are compared field by
 * field, lists and "to follow" markers as whole values. Version metadata is left out.
 */
export function diffReports(prev: Report, next: Report): ReportChange[] {
  const out: ReportChange[] = [];
  walk(prev, next, "", out);
  return out;
}
