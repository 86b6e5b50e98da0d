/** What the bar shows: notices sent, pending and undeliverable out of a total. */
export interface BarReading {
  total: number;
  sent: number;
  pending: number;
  undeliverable: number;
  state: string;
}

/** The bar's width in characters. */
const WIDTH = 30;

/** One line: `[#########-----------] 4500/10000  45%  sent 4480 · undeliverable 20 · pending 5500 (running)`. */
export function progressLine(r: BarReading): string {
  const done = r.sent + r.undeliverable;
  const share = r.total === 0 ? 1 : done / r.total;
  const filled = Math.round(share * WIDTH);
  const bar = `${"#".repeat(filled)}${"-".repeat(WIDTH - filled)}`;
  return `[${bar}] ${done}/${r.total} ${String(Math.floor(share * 100)).padStart(3)}%  sent ${r.sent} · undeliverable ${r.undeliverable} · pending ${r.pending} (${r.state})`;
}

/**
 * A progress bar on a stream: redrawn in place on a terminal, one line per change otherwise (so a
 * log file shows the progress without control characters).
 */
export class ProgressBar {
  private last = "";

  constructor(private readonly out: NodeJS.WriteStream | NodeJS.WritableStream) {}

  /** Shows a reading (nothing when it did not change). */
  update(r: BarReading): void {
    const line = progressLine(r);
    if (line === this.last) return;
    this.last = line;
    const tty = "isTTY" in this.out && this.out.isTTY;
    this.out.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
  }

  /** Ends the bar's line on a terminal. */
  done(): void {
    if ("isTTY" in this.out && this.out.isTTY && this.last) this.out.write("\n");
  }
}
