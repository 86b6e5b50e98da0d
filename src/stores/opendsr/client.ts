import { readFileSync } from "node:fs";
import type { X509Certificate } from "node:crypto";
import { DISCOVERY_SCHEMA, DOMAIN_HEADER, LEGACY_DOMAIN_HEADER, LEGACY_SIGNATURE_HEADER, SIGNATURE_HEADER, type DiscoveryBody } from "../../opendsr/protocol";
import { trustedLeaf, verifyBody } from "../../opendsr/signature";
import { MAX_RESPONSE_BYTES, networkCode } from "../webhook/http-call";
import { processorDomainOf, type OpenDsrStoreSpec } from "./schema";

/**
 * Lethe's HTTP side as an OpenDSR controller: discovery, the processor's certificate (fetched
 * from `processor_certificate`, chain-checked for the store's domain, cached), and calls whose
 * answers are verified — domain header and signature over the raw body — before they are parsed.
 */

/** How long a fetched certificate is trusted before it is fetched (and checked) again. */
const CERT_TTL_MS = 60 * 60_000;

/** An answer: verified (`signed`), or not (`reason` says why, never echoing the body). */
export type Answer =
  | { kind: "answer"; status: number; body: string; signed: true; signature: string }
  | { kind: "answer"; status: number; body: string; signed: false; reason: string }
  | { kind: "no-answer"; code: string };

/** The failure of a processor's identity (certificate or discovery): not retried by the adapter. */
export class UntrustedProcessorError extends Error {
  override readonly name = "UntrustedProcessorError";
}

/** One store's client. Built once per store per process. */
export class OpenDsrClient {
  private cert: { leaf: X509Certificate; at: number } | null = null;
  private discovery: DiscoveryBody | null = null;

  constructor(
    private readonly spec: () => OpenDsrStoreSpec,
    private readonly now: () => number = Date.now,
  ) {}

  private headers(url: string): Record<string, string> {
    const s = this.spec();
    const sameOrigin = new URL(url).origin === new URL(s.url).origin;
    return {
      accept: "application/json",
      "user-agent": "lethe-opendsr/2.0",
      ...(s.apiKey && sameOrigin ? { authorization: `Bearer ${s.apiKey}` } : {}),
    };
  }

  /** `<url>/<path>`, the store URL without a trailing slash. */
  urlOf(path: string): string {
    return `${this.spec().url.replace(/\/+$/, "")}/${path}`;
  }

  private async fetchText(
    url: string,
    init: { method: string; body?: string },
    signal?: AbortSignal,
  ): Promise<{ status: number; body: string; headers: Headers } | { code: string }> {
    const s = this.spec();
    const timeout = AbortSignal.timeout(s.timeoutMs);
    try {
      const res = await fetch(url, {
        method: init.method,
        redirect: "manual",
        headers: { ...this.headers(url), ...(init.body !== undefined ? { "content-type": "application/json" } : {}) },
        ...(init.body !== undefined ? { body: init.body } : {}),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      const buf = Buffer.from(await res.arrayBuffer());
      return { status: res.status, body: buf.subarray(0, MAX_RESPONSE_BYTES).toString("utf8"), headers: res.headers };
    } catch (err) {
      return { code: networkCode(err) };
    }
  }

  /** The processor's discovery (cached per process); throws {@link UntrustedProcessorError} when it is unusable. */
  async discover(signal?: AbortSignal): Promise<DiscoveryBody> {
    if (this.discovery) return this.discovery;
    const r = await this.fetchText(this.urlOf("discovery"), { method: "GET" }, signal);
    if ("code" in r) throw new Error(`the processor's discovery could not be reached (${r.code})`);
    if (r.status >= 500 || r.status === 429 || r.status === 408) throw new Error(`the processor's discovery answered HTTP ${r.status}`);
    let parsed: DiscoveryBody | null = null;
    try {
      const v = DISCOVERY_SCHEMA.safeParse(JSON.parse(r.body));
      parsed = v.success ? v.data : null;
    } catch {
      parsed = null;
    }
    if (r.status !== 200 || !parsed) throw new UntrustedProcessorError(`the processor's discovery answered HTTP ${r.status} without a valid discovery body`);
    const domain = processorDomainOf(this.spec());
    if (new URL(parsed.processor_certificate).hostname !== domain && new URL(parsed.processor_certificate).origin !== new URL(this.spec().url).origin) {
      throw new UntrustedProcessorError(`the processor's certificate URL is not on ${domain}`);
    }
    this.discovery = parsed;
    return parsed;
  }

  /** The processor's leaf certificate, fetched and chain-checked (cached an hour). */
  async certificate(signal?: AbortSignal): Promise<X509Certificate> {
    if (this.cert && this.now() - this.cert.at < CERT_TTL_MS) return this.cert.leaf;
    const d = await this.discover(signal);
    const r = await this.fetchText(d.processor_certificate, { method: "GET" }, signal);
    if ("code" in r) throw new Error(`the processor's certificate could not be fetched (${r.code})`);
    if (r.status !== 200) throw new Error(`the processor's certificate URL answered HTTP ${r.status}`);
    const s = this.spec();
    let leaf: X509Certificate;
    try {
      leaf = trustedLeaf(r.body, processorDomainOf(s), {
        ca: s.tls.caFile ? readFileSync(s.tls.caFile, "utf8") : undefined,
        allowSelfSigned: s.tls.allowSelfSigned,
      });
    } catch (err) {
      throw new UntrustedProcessorError((err as Error).message, { cause: err });
    }
    this.cert = { leaf, at: this.now() };
    return leaf;
  }

  /** Verifies a signed body (an answer or a callback) against the processor: domain header, then signature. */
  async verify(
    domainHeader: string | null | undefined,
    signature: string | null | undefined,
    raw: string | Buffer,
    signal?: AbortSignal,
  ): Promise<string | null> {
    if (!domainHeader || !signature) return "the answer is not signed (X-OpenDSR-Processor-Domain, X-OpenDSR-Signature)";
    if (domainHeader.trim().toLowerCase() !== processorDomainOf(this.spec()).toLowerCase()) return "the answer names another processor domain";
    if (verifyBody(await this.certificate(signal), raw, signature)) return null;
    // The processor may have rotated its certificate: fetch it again once.
    this.cert = null;
    return verifyBody(await this.certificate(signal), raw, signature) ? null : "the signature does not match the body and the processor's certificate";
  }

  /** A call to the processor; the answer's signature is checked on the raw body before anything reads it. */
  async call(method: "GET" | "POST" | "DELETE", path: string, body?: string, signal?: AbortSignal): Promise<Answer> {
    const r = await this.fetchText(this.urlOf(path), { method, ...(body !== undefined ? { body } : {}) }, signal);
    if ("code" in r) return { kind: "no-answer", code: r.code };
    if (r.status < 200 || r.status > 299) return { kind: "answer", status: r.status, body: r.body, signed: false, reason: `HTTP ${r.status}` };
    const signature = r.headers.get(SIGNATURE_HEADER) ?? r.headers.get(LEGACY_SIGNATURE_HEADER);
    const problem = await this.verify(r.headers.get(DOMAIN_HEADER) ?? r.headers.get(LEGACY_DOMAIN_HEADER), signature, r.body, signal);
    if (problem) return { kind: "answer", status: r.status, body: r.body, signed: false, reason: problem };
    return { kind: "answer", status: r.status, body: r.body, signed: true, signature: signature!.replace(/\s+/g, "") };
  }
}
