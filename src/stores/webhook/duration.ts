/**
 * ISO 8601 durations with exact lengths only: weeks, days, hours, minutes and seconds
 * (`P7D`, `PT12H`, `P1DT30M`, `PT0.5S`). Years and months are refused: their length depends on
 * the calendar, and a processor's deadline should not.
 */

/** The accepted form; the data-map schema validates with it. */
export const ISO_DURATION = /^P(?!$)(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

const UNIT_MS = [7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000] as const;

/** The length of `duration` in milliseconds, or null when it is not of the {@link ISO_DURATION} form. */
export function durationMs(duration: string): number | null {
  const m = ISO_DURATION.exec(duration);
  if (!m) return null;
  let ms = 0;
  UNIT_MS.forEach((unit, i) => {
    const part = m[i + 1];
    if (part !== undefined) ms += Number(part) * unit;
  });
  return Math.round(ms);
}
