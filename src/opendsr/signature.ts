import { createPrivateKey, sign, verify, X509Certificate, type KeyObject } from "node:crypto";
import { rootCertificates } from "node:tls";

/**
 * OpenDSR signatures (§4, §7.3, §8.8): the SHA-256 digest of the body, byte for byte, signed with
 * the private key of an X.509 certificate issued by a trusted authority for the signer's domain,
 * sent base64 in `X-OpenDSR-Signature`. RSA (PKCS#1 v1.5) and ECDSA keys both work (FIPS 186-4).
 */

/** Base64 signature of `body` (its SHA-256 digest) with `key`. */
export function signBody(key: KeyObject, body: string | Buffer): string {
  return sign("sha256", typeof body === "string" ? Buffer.from(body, "utf8") : body, key).toString("base64");
}

/** True when `signature` (base64, whitespace ignored) signs `body` with the certificate's key. */
export function verifyBody(cert: X509Certificate, body: string | Buffer, signature: string): boolean {
  const compact = signature.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) return false;
  try {
    return verify("sha256", typeof body === "string" ? Buffer.from(body, "utf8") : body, cert.publicKey, Buffer.from(compact, "base64"));
  } catch {
    return false;
  }
}

/** A private key from PEM text (the file LETHE_OPENDSR_KEY_FILE names). */
export function privateKeyOf(pem: string): KeyObject {
  return createPrivateKey(pem);
}

/** Every certificate of a PEM bundle, in order (leaf first for a chain). */
export function certificatesOf(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b));
}

/** How a processor's certificate is trusted (a store's `tls` settings). */
export interface TrustOptions {
  /** PEM of the authorities to trust instead of the system's (a private CA). (Default: Node's bundled roots) */
  ca?: string | undefined;
  /** Accept a self-signed leaf certificate. Against §4.1; only when the store's configuration says so. (Default: false) */
  allowSelfSigned?: boolean | undefined;
  /** The time the certificate must be valid at. (Default: now) */
  now?: Date;
}

const isSelfSigned = (c: X509Certificate): boolean => c.checkIssued(c) && c.verify(c.publicKey);

/**
 * Checks a processor's certificate bundle (leaf first, then intermediates) for `domain`: the leaf
 * is issued for the domain, every certificate is within its validity, each is signed by the next,
 * and the last by a trusted authority (the store's `ca`, else the system's roots). A self-signed
 * leaf is refused unless `allowSelfSigned`. Returns the leaf, or throws naming what failed.
 */
export function trustedLeaf(pem: string, domain: string, options: TrustOptions = {}): X509Certificate {
  const chain = certificatesOf(pem);
  const leaf = chain[0];
  if (!leaf) throw new Error("the processor certificate is not a PEM certificate");
  const now = (options.now ?? new Date()).getTime();
  for (const c of chain) {
    if (Date.parse(c.validFrom) > now || Date.parse(c.validTo) < now) throw new Error("a certificate of the processor's chain is not valid now");
  }
  if (leaf.checkHost(domain) === undefined) throw new Error(`the processor certificate is not issued for ${domain}`);
  if (isSelfSigned(leaf)) {
    if (options.allowSelfSigned) return leaf;
    throw new Error("the processor certificate is self-signed (allowed only with allowSelfSigned in the store's tls settings)");
  }
  const anchors = (options.ca ? certificatesOf(options.ca) : rootCertificates.flatMap((p) => certificatesOf(p))).filter((a) => a.ca || isSelfSigned(a));
  for (let i = 0; i < chain.length; i++) {
    const cert = chain[i]!;
    const anchor = anchors.find((a) => cert.checkIssued(a) && cert.verify(a.publicKey));
    if (anchor) return leaf;
    const next = chain[i + 1];
    if (!next || !next.ca || !cert.checkIssued(next) || !cert.verify(next.publicKey)) break;
  }
  throw new Error("the processor certificate does not chain to a trusted authority");
}
