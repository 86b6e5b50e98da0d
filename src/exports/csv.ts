/**
 * RFC 4180 CSV: fields with a comma, quote, CR or LF (or leading/trailing spaces) are quoted,
 * quotes doubled; lines end with CRLF. SQL NULL is an empty field (the JSON file keeps the
 * difference between NULL and an empty string).
 */

const NEEDS_QUOTES = /[",\r\n]|^\s|\s$/;

/** One field. */
export function csvField(value: string | null | undefined): string {
  if (value === null || value === undefined) return "";
  return NEEDS_QUOTES.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** One line, CRLF-terminated. */
export function csvLine(values: ReadonlyArray<string | null | undefined>): string {
  let line = "";
  for (let i = 0; i < values.length; i++) line += (i === 0 ? "" : ",") + csvField(values[i]);
  return `${line}\r\n`;
}
