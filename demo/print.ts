/**
 * Plain-text output of the demo: section headings, `key  value` lines and aligned tables, written
 * to a stream (stdout by default). No colours, so the output reads the same in a log file.
 */

/** Longest cell a table shows; longer values end in `…`. (Default for {@link Printer.table}: 40) */
export const MAX_CELL = 40;

/** A value as the demo shows it on one line: null as `NULL`, dates as ISO dates (with time when it has one), whitespace runs as one space. */
export function cell(value: unknown): string {
  if (value === null || value === undefined) return "NULL";
  if (value instanceof Date) {
    const iso = value.toISOString();
    return iso.endsWith("T00:00:00.000Z") ? iso.slice(0, 10) : `${iso.slice(0, 16).replace("T", " ")}Z`;
  }
  if (typeof value === "string") return value.replace(/\s+/g, " ");
  if (typeof value === "object" || typeof value === "function") return JSON.stringify(value) ?? "";
  return String(value as string | number | boolean | bigint | symbol);
}

const segmenter = new Intl.Segmenter();
/** The user-perceived characters of `text` (so `é` written as e + accent counts once). */
const graphemes = (text: string): string[] => Array.from(segmenter.segment(text), (s) => s.segment);

/** `text` cut to `max` characters, ending in `…` when cut. */
export function truncate(text: string, max: number): string {
  const chars = graphemes(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join("")}…`;
}

const width = (text: string): number => graphemes(text).length;
const padEnd = (text: string, n: number): string => text + " ".repeat(Math.max(0, n - width(text)));
const padStart = (text: string, n: number): string => " ".repeat(Math.max(0, n - width(text))) + text;

/** One column of {@link Printer.table}: a header and how to align it. */
export interface Column {
  header: string;
  /** Right-align (numbers). (Default: false) */
  right?: boolean;
}

/** Writes the demo's narrative. */
export class Printer {
  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {}

  /** One line (indented by `indent` spaces). */
  line(text = "", indent = 0): void {
    this.out.write(`${" ".repeat(indent)}${text}\n`);
  }

  /** A section heading: a blank line, `== title ==`. */
  section(title: string): void {
    this.line();
    this.line(`== ${title} ==`);
  }

  /** A sub-heading inside a section. */
  heading(title: string): void {
    this.line();
    this.line(title, 2);
  }

  /** `key  value` lines with the keys aligned. */
  keyValues(pairs: ReadonlyArray<readonly [string, unknown]>, indent = 4): void {
    const keyWidth = Math.max(0, ...pairs.map(([k]) => width(k)));
    for (const [k, v] of pairs) this.line(`${padEnd(k, keyWidth)}  ${truncate(cell(v), 120)}`, indent);
  }

  /** An aligned table; `(none)` when there are no rows. Cells are cut at `maxCell` characters. */
  table(columns: ReadonlyArray<Column | string>, rows: ReadonlyArray<readonly unknown[]>, opts: { indent?: number; maxCell?: number } = {}): void {
    const indent = opts.indent ?? 4;
    if (rows.length === 0) {
      this.line("(none)", indent);
      return;
    }
    const cols = columns.map((c) => (typeof c === "string" ? { header: c } : c));
    const text = rows.map((r) => cols.map((_, i) => truncate(cell(r[i]), opts.maxCell ?? MAX_CELL)));
    const widths = cols.map((c, i) => Math.max(width(c.header), ...text.map((r) => width(r[i]!))));
    const format = (cells: readonly string[]) =>
      cells
        .map((t, i) => (cols[i]!.right ? padStart(t, widths[i]!) : padEnd(t, widths[i]!)))
        .join("  ")
        .trimEnd();
    this.line(format(cols.map((c) => c.header)), indent);
    this.line(format(widths.map((w) => "-".repeat(w))), indent);
    for (const r of text) this.line(format(r), indent);
  }
}
