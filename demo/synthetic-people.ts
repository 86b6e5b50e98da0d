/**
 * What the demo shop's synthetic people look like: names, contact details, addresses, orders,
 * reviews and tickets drawn from a seeded PRNG. Pure (no I/O), so the same seed always gives the
 * same people. Every email is @example.com and every IP address is in a documentation range
 * (RFC 5737, RFC 3849), so nothing here can reach a real person.
 */

/** A seeded PRNG (mulberry32): small, fast, and plenty for synthetic data. Not for secrets. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One item of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
}

/** "Now" of the synthetic shop, fixed so that dates do not depend on the day the seed runs. */
export const SHOP_NOW = Date.UTC(2025, 5, 30, 12, 0, 0);
/** The day the synthetic shop opened: no account is older. */
export const SHOP_OPENED = Date.UTC(2019, 0, 1);

// prettier-ignore
const FIRST_NAMES = [
  "Anna", "Lukas", "Sophie", "Jonas", "Marie", "Elias", "Léa", "Hugo", "Chloé", "Louis", "Emma", "Noah",
  "Sanne", "Daan", "Aoife", "Cian", "Lucía", "Mateo", "Giulia", "Lorenzo", "Zofia", "Jakub", "Elsa", "Oskar",
  "Jürgen", "Zoë", "Björn", "Inès", "Siobhán", "Tomás", "Freya", "Arjun", "Mei", "Yusuf", "Amara", "Kofi",
];

// prettier-ignore
const LAST_NAMES = [
  "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Martin", "Bernard", "Dubois", "Lefèvre", "de Vries",
  "Jansen", "Bakker", "Murphy", "O'Brien", "Kelly", "García", "Fernández", "López", "Rossi", "Russo", "Bianchi",
  "Nowak", "Kowalski", "Wiśniewska", "Andersson", "Johansson", "Lindqvist", "Novák", "Horváth", "Papadopoulos",
];

/** A country the shop delivers to, with what its addresses and phone numbers look like. */
export interface Country {
  code: string;
  dial: string;
  cities: readonly string[];
  streets: readonly string[];
  postcode: (rng: Rng) => string;
}

const digits = (rng: Rng, n: number): string => Array.from({ length: n }, () => rng.int(0, 9)).join("");
const letter = (rng: Rng): string => String.fromCharCode(65 + rng.int(0, 25));

/** The countries the shop delivers to. */
// prettier-ignore
export const COUNTRIES: readonly Country[] = [
  { code: "DE", dial: "+49", cities: ["Berlin", "Hamburg", "München", "Köln", "Leipzig"], streets: ["Hauptstraße", "Gartenweg", "Bahnhofstraße"], postcode: (r) => String(r.int(10000, 99999)) },
  { code: "FR", dial: "+33", cities: ["Paris", "Lyon", "Nantes", "Lille"], streets: ["rue de la Paix", "avenue Victor Hugo", "rue des Lilas"], postcode: (r) => String(r.int(10000, 95999)) },
  { code: "NL", dial: "+31", cities: ["Amsterdam", "Utrecht", "Rotterdam"], streets: ["Kerkstraat", "Dorpsstraat", "Molenweg"], postcode: (r) => `${r.int(1000, 9999)} ${letter(r)}${letter(r)}` },
  { code: "IE", dial: "+353", cities: ["Dublin", "Cork", "Galway"], streets: ["Main Street", "Church Road", "Harbour View"], postcode: (r) => `D${String(r.int(1, 24)).padStart(2, "0")} ${letter(r)}${digits(r, 3)}` },
  { code: "ES", dial: "+34", cities: ["Madrid", "Sevilla", "Valencia"], streets: ["Calle Mayor", "Calle del Sol", "Avenida de la Constitución"], postcode: (r) => String(r.int(1000, 52999)).padStart(5, "0") },
  { code: "IT", dial: "+39", cities: ["Roma", "Milano", "Torino", "Bologna"], streets: ["Via Roma", "Via Garibaldi", "Corso Italia"], postcode: (r) => String(r.int(10, 98168)).padStart(5, "0") },
  { code: "PL", dial: "+48", cities: ["Warszawa", "Kraków", "Gdańsk"], streets: ["ulica Długa", "ulica Polna", "ulica Leśna"], postcode: (r) => `${digits(r, 2)}-${digits(r, 3)}` },
  { code: "SE", dial: "+46", cities: ["Stockholm", "Göteborg", "Malmö"], streets: ["Storgatan", "Kungsgatan", "Skolvägen"], postcode: (r) => `${r.int(100, 999)} ${digits(r, 2)}` },
];

/** The company's warehouses: not the subjects' data, though one may stand at a customer's address. */
export const WAREHOUSE_SITES: ReadonlyArray<{ name: string; city: string; country: Country }> = [
  { name: "Central warehouse Leipzig", city: "Leipzig", country: COUNTRIES[0]! },
  { name: "Warehouse Lyon", city: "Lyon", country: COUNTRIES[1]! },
  { name: "Warehouse Rotterdam", city: "Rotterdam", country: COUNTRIES[2]! },
];

// prettier-ignore
const PRODUCTS: ReadonlyArray<{ sku: string; priceCents: number }> = [
  { sku: "TEA-GREEN-100", priceCents: 690 }, { sku: "TEA-BLACK-250", priceCents: 1190 }, { sku: "MUG-STONE", priceCents: 1450 },
  { sku: "KETTLE-1L", priceCents: 3990 }, { sku: "CUP-SET-4", priceCents: 2490 }, { sku: "HONEY-500", priceCents: 890 },
  { sku: "INFUSER", priceCents: 590 }, { sku: "GIFT-BOX", priceCents: 4900 }, { sku: "TEA-CHAI-200", priceCents: 990 },
];

const REVIEW_BODIES = [
  "Arrived quickly, exactly as described.",
  "Good quality for the price. Would buy again.",
  "The packaging was damaged but the product is fine.",
  "Not what I expected, the colour is different from the photo.",
  "Lovely! Bought a second one as a present for my sister.",
  "Decent, but delivery took almost two weeks.",
];

const TICKET_TOPICS: ReadonlyArray<readonly [subject: string, text: string]> = [
  ["Where is my order?", "My order has not arrived yet, could you check the tracking for me?"],
  ["Wrong item delivered", "I received a different item than the one I ordered. How do I return it?"],
  ["Change of address", "I have moved, please update my delivery address for future orders."],
  ["Invoice request", "Could you send me an invoice with my company details for my last order?"],
  ["Unsubscribe", "Please stop sending me newsletters."],
];

/** One row of `addresses`. `id` is filled in once ids are reserved. */
export interface Address {
  id: number;
  line1: string;
  line2: string | null;
  city: string;
  postcode: string;
  country: string;
}

/** One customer, as the shop stores it (times in epoch milliseconds). */
export interface Person {
  id: number;
  firstName: string;
  fullName: string;
  email: string;
  phone: string | null;
  /** `YYYY-MM-DD`. */
  birthDate: string | null;
  marketingOptIn: boolean;
  createdAt: number;
  lastLoginAt: number | null;
  country: Country;
}

/** One order with its line items; the billing fields are copied from the customer, as shops do. */
export interface Order {
  placedAt: number;
  totalCents: number;
  billingName: string;
  billingEmail: string;
  billingAddress: string;
  billingIp: string | null;
  items: Array<{ sku: string; quantity: number; priceCents: number }>;
}

/** One product review. */
export interface Review {
  productSku: string;
  rating: number;
  body: string;
  createdAt: number;
}

/** One support ticket; it names the customer by email only. */
export interface Ticket {
  customerEmail: string;
  subject: string;
  body: string;
  openedAt: number;
}

/** A time in [from, to). */
const between = (rng: Rng, from: number, to: number): number => from + Math.floor(rng.next() * Math.max(0, to - from));

/** Strips accents and anything that is not a letter, for the local part of an email. */
const emailPart = (s: string): string =>
  s
    .normalize("NFD")
    .replace(/[^A-Za-z]/g, "")
    .toLowerCase();

/** A customer with id `id`; the email `<first>.<last>.<id>@example.com` is unique because the id is. */
export function randomPerson(rng: Rng, id: number): Person {
  const first = rng.pick(FIRST_NAMES);
  const last = rng.pick(LAST_NAMES);
  const country = rng.pick(COUNTRIES);
  const createdAt = between(rng, SHOP_OPENED, SHOP_NOW - 86_400_000);
  const month = String(rng.int(1, 12)).padStart(2, "0");
  const day = String(rng.int(1, 28)).padStart(2, "0");
  return {
    id,
    firstName: first,
    fullName: `${first} ${last}`,
    email: `${emailPart(first)}.${emailPart(last)}.${id}@example.com`,
    phone: rng.chance(0.85) ? `${country.dial} ${rng.int(1, 9)}${digits(rng, 2)} ${digits(rng, 7)}` : null,
    birthDate: rng.chance(0.9) ? `${rng.int(1945, 2006)}-${month}-${day}` : null,
    marketingOptIn: rng.chance(0.35),
    createdAt,
    lastLoginAt: rng.chance(0.8) ? between(rng, createdAt, SHOP_NOW) : null,
    country,
  };
}

/** An address in `country`. */
export function randomAddress(rng: Rng, id: number, country: Country): Address {
  return {
    id,
    line1: `${rng.pick(country.streets)} ${rng.int(1, 180)}`,
    line2: rng.chance(0.2) ? `Apt ${rng.int(1, 40)}` : null,
    city: rng.pick(country.cities),
    postcode: country.postcode(rng),
    country: country.code,
  };
}

/** An address on one line, as it is printed on an invoice. */
export function formatAddress(a: Address): string {
  return [a.line1, a.line2, `${a.postcode} ${a.city}`, a.country].filter(Boolean).join(", ");
}

/** A client IP address from a documentation range (one order in ten has none: phone orders). */
function randomIp(rng: Rng): string | null {
  const roll = rng.next();
  if (roll < 0.1) return null;
  if (roll < 0.2) return `2001:db8:${rng.int(0, 0xffff).toString(16)}::${rng.int(1, 0xffff).toString(16)}`;
  return `${rng.pick(["192.0.2", "198.51.100", "203.0.113"])}.${rng.int(1, 254)}`;
}

/** An order of 1–3 products placed by `person`, billed to `billing`. */
export function randomOrder(rng: Rng, person: Person, billing: Address): Order {
  const items = Array.from({ length: rng.int(1, 3) }, () => {
    const product = rng.pick(PRODUCTS);
    return { sku: product.sku, quantity: rng.int(1, 3), priceCents: product.priceCents };
  });
  return {
    placedAt: between(rng, person.createdAt, SHOP_NOW),
    totalCents: items.reduce((sum, i) => sum + i.quantity * i.priceCents, 0),
    billingName: person.fullName,
    billingEmail: person.email,
    billingAddress: formatAddress(billing),
    billingIp: randomIp(rng),
    items,
  };
}

/** A review by `person`; some are signed with the first name, as people do in free text. */
export function randomReview(rng: Rng, person: Person): Review {
  const text = rng.pick(REVIEW_BODIES);
  return {
    productSku: rng.pick(PRODUCTS).sku,
    rating: rng.int(1, 5),
    body: rng.chance(0.3) ? `${text} — ${person.firstName}` : text,
    createdAt: between(rng, person.createdAt, SHOP_NOW),
  };
}

/** A support ticket from `person`, signed with the full name. */
export function randomTicket(rng: Rng, person: Person): Ticket {
  const [subject, text] = rng.pick(TICKET_TOPICS);
  return {
    customerEmail: person.email,
    subject,
    body: `Hello,\n\n${text}\n\nThanks,\n${person.fullName}`,
    openedAt: between(rng, person.createdAt, SHOP_NOW),
  };
}
