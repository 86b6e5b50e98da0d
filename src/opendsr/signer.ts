import { readFileSync } from "node:fs";
import type { KeyObject } from "node:crypto";
import type { Config } from "../config";
import { certificatesOf, privateKeyOf, signBody } from "./signature";

/** Lethe's OpenDSR signing identity: its key, the certificate (chain) served at `processor_certificate`, its domain. */
export interface OpenDsrSigner {
  domain: string;
  /** PEM served at `/opendsr/v2/certificate.pem` (leaf first). */
  certificatePem: string;
  /** Base64 signature of a body. */
  sign(body: string): string;
}

const loaded = new Map<string, OpenDsrSigner>();

/**
 * The signer of the configuration (read once per process and files), or null when OpenDSR is not
 * configured. Throws naming the variable when a file cannot be read or the key does not match
 * the certificate.
 */
export function openDsrSigner(config: Pick<Config, "opendsr">): OpenDsrSigner | null {
  const o = config.opendsr;
  if (!o) return null;
  const cacheKey = `${o.keyFile}\n${o.certFile}\n${o.domain}`;
  const cached = loaded.get(cacheKey);
  if (cached) return cached;
  let key: KeyObject;
  let certificatePem: string;
  try {
    key = privateKeyOf(readFileSync(o.keyFile, "utf8"));
  } catch (err) {
    throw new Error("LETHE_OPENDSR_KEY_FILE: cannot read a PEM private key from the file", { cause: err });
  }
  try {
    certificatePem = readFileSync(o.certFile, "utf8");
  } catch (err) {
    throw new Error("LETHE_OPENDSR_CERT_FILE: cannot read the file", { cause: err });
  }
  const leaf = certificatesOf(certificatePem)[0];
  if (!leaf) throw new Error("LETHE_OPENDSR_CERT_FILE: holds no PEM certificate");
  if (!leaf.checkPrivateKey(key)) throw new Error("LETHE_OPENDSR_KEY_FILE: the key does not belong to the certificate of LETHE_OPENDSR_CERT_FILE");
  if (leaf.checkHost(o.domain) === undefined) throw new Error("LETHE_OPENDSR_CERT_FILE: the certificate is not issued for LETHE_OPENDSR_DOMAIN");
  const signer: OpenDsrSigner = { domain: o.domain, certificatePem, sign: (body) => signBody(key, body) };
  loaded.set(cacheKey, signer);
  return signer;
}
