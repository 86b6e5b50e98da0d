import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { buildServer } from "../../src/http/server";
import type { Logger } from "../../src/logger";
import { openServices, type OpenServices } from "../../src/services";
import { createHarness, type LetheHarness } from "../helpers/harness";
import { waitFor } from "../helpers/wait";
import { BREACH_MAP, seedBreachApp } from "./fixture";
import { startNoticeSink, type NoticeSink, type NoticeSinkOptions } from "./notice-sink";

/** API keys of the breach tests: an operator (incidents.write/read), a DPO (dpo, incidents.read), a reader. */
export const BREACH_KEYS = {
  ops: "breach-ops-key-000000000001",
  dpo: "breach-dpo-key-000000000002",
  reader: "breach-read-key-00000000003",
} as const;

/** A breach test's Lethe: the harness (app seeded with `customers`), a notice sink, the API (not listening) on full services. */
export interface BreachHarness {
  h: LetheHarness;
  sink: NoticeSink;
  services: OpenServices;
  api: FastifyInstance;
  /** Calls the API as `who`. */
  call(who: keyof typeof BREACH_KEYS, method: "GET" | "POST", url: string, body?: unknown): Promise<LightMyRequestResponse>;
  /** Calls and expects `status`; returns the JSON body. */
  ok<T = Record<string, unknown>>(who: keyof typeof BREACH_KEYS, method: "GET" | "POST", url: string, body?: unknown, status?: number): Promise<T>;
  cleanup(): Promise<void>;
}

/** Options: customers to seed, extra env, the sink's options. */
export interface BreachHarnessOptions {
  customers: number;
  env?: Record<string, string>;
  sink?: NoticeSinkOptions;
  /** Logger of the in-process workers (Default: silent). */
  logger?: Logger;
}

/** Builds a {@link BreachHarness}; pair with `cleanup()`. */
export async function createBreachHarness(options: BreachHarnessOptions): Promise<BreachHarness> {
  const sink = await startNoticeSink(options.sink);
  let h: LetheHarness | undefined;
  let services: OpenServices | undefined;
  let api: FastifyInstance | undefined;
  const cleanup = async (): Promise<void> => {
    await api?.close();
    await services?.close();
    await h?.cleanup();
    await sink.close();
  };
  try {
    h = await createHarness({
      map: BREACH_MAP,
      prepare: (url) => seedBreachApp(url, options.customers),
      ...(options.logger ? { logger: options.logger } : {}),
      env: {
        SMTP_URL: sink.url,
        LETHE_MAIL_FROM: "Breach Test Shop <privacy@shop.example>",
        LETHE_API_KEYS: `ops:${BREACH_KEYS.ops}:incidents.write|incidents.read;dpo:${BREACH_KEYS.dpo}:dpo|incidents.read;ro:${BREACH_KEYS.reader}:incidents.read`,
        LETHE_SMTP_RATE_PER_S: "100000",
        LETHE_BREACH_TICK_EVERY_MS: "200",
        LETHE_RECONCILE_EVERY_MS: "500",
        ...options.env,
      },
    });
    const hh = h;
    services = openServices(hh.config, { ds: hh.ds, dataMap: hh.dataMap, logger: hh.logger }, { role: "producer", storePoolSize: 2 });
    api = await buildServer(services);
    const app = api;
    const call = (who: keyof typeof BREACH_KEYS, method: "GET" | "POST", url: string, body?: unknown) =>
      app.inject({ method, url, headers: { authorization: `Bearer ${BREACH_KEYS[who]}` }, ...(body === undefined ? {} : { payload: body as object }) });
    return {
      h: hh,
      sink,
      services,
      api: app,
      call,
      async ok(who, method, url, body, status) {
        const res = await call(who, method, url, body);
        if (status !== undefined ? res.statusCode !== status : res.statusCode >= 300) {
          throw new Error(`${method} ${url}: ${res.statusCode} ${res.body.slice(0, 2000)}`);
        }
        return res.json();
      },
      cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Polls `GET url` until `done(body)` holds; returns the body. */
export async function waitForBody<T>(b: BreachHarness, url: string, done: (body: T) => boolean, what: string, timeoutMs = 60_000): Promise<T> {
  return waitFor(
    async () => {
      const body = await b.ok<T>("ops", "GET", url);
      return done(body) ? body : undefined;
    },
    what,
    timeoutMs,
    100,
  );
}

/** A valid severity assessment input (high band: financial data, significant ease, unknown recipients, malicious). */
export const HIGH_SEVERITY = {
  dataCategories: [{ category: "financial", label: "orders: card last digits and shipping names" }],
  ease: "significant",
  confidentiality: "unknown_recipients",
  integrity: "not_affected",
  availability: "not_affected",
  maliciousIntent: true,
};

/** Notice texts in English and German. */
export const NOTICE_TEXTS = {
  en: {
    summary: "Between 10 and 13 February 2025 an attacker could read part of our orders table.",
    dataCategories: "your name as written on the order and the last four digits of your card",
    consequences: "Someone could try to trick you with messages that look like they come from us.",
    measures: "We closed the hole on 13 February and reset all access keys.",
    advice: "Be careful with messages asking for payment details; we never ask for them.",
  },
  de: {
    summary: "Zwischen dem 10. und 13. Februar 2025 konnte ein Angreifer einen Teil unserer Bestellungen lesen.",
    dataCategories: "Ihr Name auf der Bestellung und die letzten vier Ziffern Ihrer Karte",
    consequences: "Jemand könnte versuchen, Sie mit Nachrichten zu täuschen, die scheinbar von uns stammen.",
    measures: "Wir haben die Lücke am 13. Februar geschlossen und alle Zugangsschlüssel erneuert.",
    advice: "Seien Sie vorsichtig bei Nachrichten, die nach Zahlungsdaten fragen; wir fragen nie danach.",
  },
};

/** A contact point for reports and notices. */
export const CONTACT = { name: "Data Protection Officer", role: "DPO", email: "dpo@shop.example" };
