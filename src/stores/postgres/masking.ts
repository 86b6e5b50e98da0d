import { createHash, randomBytes } from "node:crypto";
import type { Mask } from "./schema";
import type { ColumnInfo } from "./introspect";
import { quoteIdent } from "./ident";

/** Text written by the `token` mask into a non-unique column. */
export const TOKEN = "[erased]";
/** Domain of masked emails: reserved by RFC 2606, so it can never deliver. */
export const ERASED_EMAIL_DOMAIN = "erased.invalid";
const EMAIL_LENGTH = 24 + 1 + ERASED_EMAIL_DOMAIN.length;
const UNIQUE_TOKEN_LENGTH = "erased-".length + 24;

/**
 * Why `mask` cannot be applied to `column` (type, NOT NULL, UNIQUE, length), or null when it fits.
 * Used by `lethe check` and before any erasure runs.
 */
export function maskMisfit(mask: Mask, column: ColumnInfo): string | null {
  const text = column.family === "text";
  const room = (n: number) => column.maxLength === null || column.maxLength >= n;
  switch (mask) {
    case "null":
      if (!column.isNullable) return `mask "null" cannot be used on NOT NULL column (${column.sqlType}); use "token"`;
      return null;
    case "token":
      if (!text) return `mask "token" needs a text column, not ${column.sqlType}`;
      if (!room(column.isUnique ? UNIQUE_TOKEN_LENGTH : TOKEN.length)) return `mask "token" does not fit ${column.sqlType}`;
      return null;
    case "email":
      if (!text) return `mask "email" needs a text column, not ${column.sqlType}`;
      if (!room(EMAIL_LENGTH)) return `mask "email" needs ${EMAIL_LENGTH} characters, the column is ${column.sqlType}`;
      return null;
    case "hash":
      if (column.family === "bytea") return null;
      if (!text) return `mask "hash" needs a text or bytea column, not ${column.sqlType}`;
      if (!room(64)) return `mask "hash" needs 64 characters, the column is ${column.sqlType}`;
      return null;
    case "year":
      if (column.family !== "date" && column.family !== "timestamp") return `mask "year" needs a date or timestamp column, not ${column.sqlType}`;
      if (column.isUnique) return `mask "year" cannot keep UNIQUE column values distinct`;
      return null;
  }
}

/**
 * A per-execution HMAC key, as the two padded blocks SQL needs: `sha256(opad || sha256(ipad || m))`
 * is HMAC-SHA256 computed inside Postgres (no extension). The key is random and never stored, so
 * a masked value cannot be linked back, yet stays consistent within one request.
 */
export interface MaskKey {
  ipad: Buffer;
  opad: Buffer;
}

/** Makes a fresh {@link MaskKey}. */
export function newMaskKey(secret: Buffer = randomBytes(32)): MaskKey {
  const block = Buffer.alloc(64);
  (secret.length > 64 ? createHash("sha256").update(secret).digest() : secret).copy(block);
  return { ipad: Buffer.from(block.map((b) => b ^ 0x36)), opad: Buffer.from(block.map((b) => b ^ 0x5c)) };
}

/** SQL for one column's masked value and for "this column is already masked". */
export interface MaskSql {
  /** Right-hand side of `SET col = …`. */
  value: string;
  /** True when the column already holds a masked (or no) value; makes a re-run a no-op. */
  isMasked: string;
}

/**
 * Builds the SQL of `mask` on `column`. `ipadParam`/`opadParam` are the placeholders (`$2`, `$3`)
 * bound to the {@link MaskKey}. Values never enter the SQL text.
 */
export function maskSql(mask: Mask, column: ColumnInfo, ipadParam: string, opadParam: string): MaskSql {
  const c = quoteIdent(column.name);
  const hmac = `sha256(${opadParam}::bytea || sha256(${ipadParam}::bytea || convert_to(${c}::text, 'UTF8')))`;
  const hex = (n: number) => `substr(encode(${hmac}, 'hex'), 1, ${n})`;
  switch (mask) {
    case "null":
      return { value: "NULL", isMasked: `${c} IS NULL` };
    case "token":
      return column.isUnique
        ? { value: `'erased-' || ${hex(24)}`, isMasked: `(${c} IS NULL OR ${c} LIKE 'erased-%')` }
        : { value: `'${TOKEN}'`, isMasked: `(${c} IS NULL OR ${c} = '${TOKEN}')` };
    case "email":
      return { value: `${hex(24)} || '@${ERASED_EMAIL_DOMAIN}'`, isMasked: `(${c} IS NULL OR ${c} LIKE '%@${ERASED_EMAIL_DOMAIN}')` };
    case "hash":
      return column.family === "bytea"
        ? { value: hmac, isMasked: `(${c} IS NULL OR length(${c}) = 32)` }
        : { value: `encode(${hmac}, 'hex')`, isMasked: `(${c} IS NULL OR ${c} ~ '^[0-9a-f]{64}$')` };
    case "year": {
      const cast = column.family === "date" ? "::date" : "";
      return { value: `date_trunc('year', ${c})${cast}`, isMasked: `(${c} IS NULL OR ${c} = date_trunc('year', ${c})${cast})` };
    }
  }
}
