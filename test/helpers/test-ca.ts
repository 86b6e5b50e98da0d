import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A certificate authority made for one test with the openssl CLI: a root, and leaf certificates
 * (RSA 2048, SHA-256) issued by it for a domain, each with its key file. Also a self-signed leaf
 * and a second, untrusted authority, for the refusals. `cleanup` deletes the directory.
 */
export interface TestCa {
  dir: string;
  /** PEM of the root. */
  caPem: string;
  /** A leaf for `domain` signed by the root: key and certificate files (and their PEM). */
  issue(domain: string, name?: string): IssuedCert;
  /** A self-signed certificate for `domain` (no authority). */
  selfSigned(domain: string, name?: string): IssuedCert;
  cleanup(): void;
}

/** One issued certificate. */
export interface IssuedCert {
  keyFile: string;
  certFile: string;
  keyPem: string;
  certPem: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: "pipe" });
}

/** Creates the authority in a temporary directory. */
export function createTestCa(label = "Lethe Test CA"): TestCa {
  const dir = mkdtempSync(join(tmpdir(), "lethe-ca-"));
  openssl(
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-days",
      "2",
      "-subj",
      `/CN=${label}`,
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ],
    dir,
  );
  let serial = 1;
  const read = (name: string): IssuedCert => ({
    keyFile: join(dir, `${name}.key`),
    certFile: join(dir, `${name}.pem`),
    keyPem: readFileSync(join(dir, `${name}.key`), "utf8"),
    certPem: readFileSync(join(dir, `${name}.pem`), "utf8"),
  });
  return {
    dir,
    caPem: readFileSync(join(dir, "ca.pem"), "utf8"),
    issue(domain, name = `leaf${serial}`) {
      writeFileSync(join(dir, `${name}.ext`), `subjectAltName=DNS:${domain}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n`);
      openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${domain}`], dir);
      openssl(
        [
          "x509",
          "-req",
          "-in",
          `${name}.csr`,
          "-CA",
          "ca.pem",
          "-CAkey",
          "ca.key",
          "-set_serial",
          String(serial++),
          "-days",
          "1",
          "-sha256",
          "-extfile",
          `${name}.ext`,
          "-out",
          `${name}.pem`,
        ],
        dir,
      );
      return read(name);
    },
    selfSigned(domain, name = `self${serial++}`) {
      openssl(
        [
          "req",
          "-x509",
          "-newkey",
          "rsa:2048",
          "-nodes",
          "-keyout",
          `${name}.key`,
          "-out",
          `${name}.pem`,
          "-days",
          "1",
          "-subj",
          `/CN=${domain}`,
          "-addext",
          `subjectAltName=DNS:${domain}`,
        ],
        dir,
      );
      return read(name);
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
