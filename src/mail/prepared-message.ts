import MailComposer from "nodemailer/lib/mail-composer";

/**
 * A message built once (MIME tree, encoded text and HTML parts) and sent to many people: per
 * recipient only the header lines that differ — To, Message-ID, Date and the caller's per-person
 * headers — are written, and the encoded body is shared. Breach notices use it: a hundred thousand
 * people receive one of a handful of rendered notices, so the encoding runs once per locale
 * instead of once per person.
 */

const TO = "lethe-recipient@placeholder.invalid";
const MESSAGE_ID = "<lethe-message-id@placeholder.invalid>";

/** The parts of a message that are the same for every recipient. */
export interface SharedMessage {
  from: string;
  subject: string;
  text: string;
  html: string;
  /** Headers every copy carries (e.g. the incident reference, the language). */
  headers: Record<string, string>;
  /** Names of headers each copy sets for itself ({@link PreparedMessage.render}); their values must be printable ASCII. */
  perRecipient: readonly string[];
}

/** An address fit to write into a header as it is: printable ASCII without spaces, quotes or brackets. */
export function isPlainAddress(address: string): boolean {
  return address.length <= 254 && /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+$/.test(address);
}

const token = (name: string) => `lethe-${name.toLowerCase().replace(/[^a-z0-9]/g, "-")}-placeholder`;

/** A message built once; {@link render} gives one recipient's copy. */
export class PreparedMessage {
  private constructor(
    private readonly head: string,
    private readonly body: Buffer,
    private readonly perRecipient: readonly string[],
  ) {}

  /** Builds the message once (nodemailer's own composer), with placeholders where each copy differs. */
  static async build(shared: SharedMessage): Promise<PreparedMessage> {
    const headers: Record<string, string> = { ...shared.headers };
    for (const name of shared.perRecipient) headers[name] = token(name);
    const built = await new MailComposer({
      from: shared.from,
      to: TO,
      subject: shared.subject,
      text: shared.text,
      html: shared.html,
      messageId: MESSAGE_ID,
      headers,
    })
      .compile()
      .build();
    const split = built.indexOf("\r\n\r\n");
    if (split < 0) throw new Error("a built message has no header/body boundary");
    const head = built.subarray(0, split + 2).toString("latin1");
    for (const needle of [`To: ${TO}\r\n`, `Message-ID: ${MESSAGE_ID}\r\n`, ...shared.perRecipient.map((n) => `: ${token(n)}\r\n`)]) {
      if (head.split(needle).length !== 2) throw new Error("a prepared message's placeholder header was folded or repeated");
    }
    return new PreparedMessage(head, built.subarray(split + 2), shared.perRecipient);
  }

  /** One recipient's copy: `to` must pass {@link isPlainAddress}; `messageId` is `<…@…>`; header values printable ASCII. */
  render(to: string, messageId: string, values: Record<string, string>, date = new Date()): Buffer {
    if (!isPlainAddress(to)) throw new Error("render needs a plain address (see isPlainAddress)");
    let head = this.head
      .replace(`To: ${TO}\r\n`, () => `To: ${to}\r\n`)
      .replace(`Message-ID: ${MESSAGE_ID}\r\n`, () => `Message-ID: ${ascii(messageId)}\r\n`)
      .replace(/^Date: [^\r\n]*\r\n/m, () => `Date: ${date.toUTCString().replace(/GMT/, "+0000")}\r\n`);
    for (const name of this.perRecipient) head = head.replace(`: ${token(name)}\r\n`, () => `: ${ascii(values[name] ?? "")}\r\n`);
    return Buffer.concat([Buffer.from(head, "latin1"), this.body]);
  }
}

const ascii = (v: string): string => {
  if (!/^[\x20-\x7e]*$/.test(v) || v.length > 900) throw new Error("a per-recipient header value must be one line of printable ASCII");
  return v;
};
