/**
 * TLS for the API: a certificate and key given as files (`wharf up --tls-cert FILE --tls-key FILE`),
 * or `--tls auto`: a local CA and a server certificate for 127.0.0.1, ::1, localhost and this
 * host's name, made with @peculiar/x509 over node's WebCrypto and kept under `$WHARF_HOME/tls/`
 * (keys 0600). The CA is made once and reused, so a CLI that trusts `tls/ca.pem` keeps trusting
 * later starts; the server certificate is made again when missing or within
 * {@link EXPIRY_WARNING_DAYS} of its end. Also when a certificate expires, for the metric and the
 * warning.
 */
import { randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import './reflect-metadata.js';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as never);

/** A certificate this close to its end (or past it) is warned about. */
export const EXPIRY_WARNING_DAYS = 14;
const DAY_MS = 86_400_000;
const CA_DAYS = 3650;
const SERVER_DAYS = 397;
const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** What an HTTPS server needs, and what the CLI and the gateway process must trust. */
export interface TlsMaterial {
  /** PEM: the server certificate (and any chain after it). */
  cert: string;
  /** PEM: its private key. */
  key: string;
  /** The certificate's file. */
  certFile: string;
  /** The CA file clients should trust (`--tls auto`: `tls/ca.pem`; given files: the certificate itself). */
  caFile: string;
  /** When the server certificate ends. */
  expiresAt: Date;
}

/** The paths `--tls auto` uses under `home`. */
export function autoTlsPaths(home: string): { dir: string; ca: string; caKey: string; cert: string; key: string } {
  const dir = join(home, 'tls');
  return {
    dir,
    ca: join(dir, 'ca.pem'),
    caKey: join(dir, 'ca-key.pem'),
    cert: join(dir, 'server.pem'),
    key: join(dir, 'server-key.pem'),
  };
}

/** When the first certificate of `pem` ends. */
export function certificateExpiry(pem: string): Date {
  return new Date(new X509Certificate(pem).validTo);
}

/**
 * The given certificate and key; `caFile` is the CA that signed it (default: the certificate
 * itself, right for a self-signed one). Errors name the flag and the file.
 */
export async function loadTls(certFile: string, keyFile: string, caFile: string = certFile): Promise<TlsMaterial> {
  const cert = await readFile(certFile, 'utf8').catch((e: Error) => {
    throw new Error(`--tls-cert: cannot read ${certFile}: ${e.message}`);
  });
  const key = await readFile(keyFile, 'utf8').catch((e: Error) => {
    throw new Error(`--tls-key: cannot read ${keyFile}: ${e.message}`);
  });
  let expiresAt: Date;
  try {
    expiresAt = certificateExpiry(cert);
  } catch (e) {
    throw new Error(`--tls-cert: ${certFile} is not a PEM certificate (${(e as Error).message})`, { cause: e });
  }
  return { cert, key, certFile, caFile, expiresAt };
}

/** `--tls auto`: the CA under `home/tls` (made on first use) and a fresh-enough server certificate from it. */
export async function autoTls(home: string, now: Date = new Date()): Promise<TlsMaterial> {
  const paths = autoTlsPaths(home);
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  let ca = await readPair(paths.ca, paths.caKey);
  if (ca === undefined) {
    ca = await issueCertificate({ commonName: 'Wharf local CA', days: CA_DAYS, now, ca: true });
    await writePair(paths.ca, paths.caKey, ca);
  }
  let server = await readPair(paths.cert, paths.key);
  if (server === undefined || certificateExpiry(server.cert).getTime() - now.getTime() < EXPIRY_WARNING_DAYS * DAY_MS) {
    server = await issueCertificate({
      commonName: 'localhost',
      days: SERVER_DAYS,
      now,
      issuer: ca,
      hostnames: localNames(),
    });
    await writePair(paths.cert, paths.key, server);
  }
  return {
    cert: server.cert,
    key: server.key,
    certFile: paths.cert,
    caFile: paths.ca,
    expiresAt: certificateExpiry(server.cert),
  };
}

/** The names a local server certificate covers. */
export function localNames(): string[] {
  return [...new Set(['localhost', hostname(), '127.0.0.1', '::1'])];
}

/** A PEM certificate and its PEM (PKCS #8) key. */
export interface CertificatePair {
  cert: string;
  key: string;
}

/**
 * A new certificate: a CA (`ca: true`, self-signed) or a server certificate for `hostnames` signed
 * by `issuer` (self-signed without one). Tests use it for certificates of a chosen validity.
 */
export async function issueCertificate(o: {
  commonName: string;
  days: number;
  now?: Date;
  ca?: boolean;
  issuer?: CertificatePair;
  hostnames?: string[];
}): Promise<CertificatePair> {
  const now = o.now ?? new Date();
  const notBefore = new Date(now.getTime() - 60_000);
  const notAfter = new Date(now.getTime() + o.days * DAY_MS);
  const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const serialNumber = randomBytes(16)
    .toString('hex')
    .replace(/^[89a-f]/, '1');
  const extensions: x509.Extension[] = [await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)];
  if (o.ca) {
    extensions.push(
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    );
  } else {
    const names = (o.hostnames ?? ['localhost']).map((value) =>
      /^[\d.]+$|:/.test(value) ? { type: 'ip' as const, value } : { type: 'dns' as const, value },
    );
    extensions.push(
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names),
    );
  }
  const subject = `CN=${o.commonName}`;
  let cert: x509.X509Certificate;
  if (o.issuer === undefined) {
    cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber,
      name: subject,
      notBefore,
      notAfter,
      signingAlgorithm: ALGORITHM,
      keys,
      extensions,
    });
  } else {
    const issuerCert = new x509.X509Certificate(o.issuer.cert);
    extensions.push(await x509.AuthorityKeyIdentifierExtension.create(issuerCert));
    cert = await x509.X509CertificateGenerator.create({
      serialNumber,
      subject,
      issuer: issuerCert.subject,
      notBefore,
      notAfter,
      signingAlgorithm: ALGORITHM,
      publicKey: keys.publicKey,
      signingKey: await importKey(o.issuer.key),
      extensions,
    });
  }
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return { cert: cert.toString('pem'), key: pem('PRIVATE KEY', pkcs8) };
}

async function importKey(keyPem: string): Promise<webcrypto.CryptoKey> {
  const der = Buffer.from(keyPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return webcrypto.subtle.importKey('pkcs8', der, ALGORITHM, false, ['sign']);
}

function pem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

async function readPair(certFile: string, keyFile: string): Promise<CertificatePair | undefined> {
  try {
    return { cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

async function writePair(certFile: string, keyFile: string, pair: CertificatePair): Promise<void> {
  await writeFile(keyFile, pair.key, { mode: 0o600 });
  await writeFile(certFile, pair.cert, { mode: 0o644 });
}

/** The warning for a certificate within {@link EXPIRY_WARNING_DAYS} of its end (or past it); none otherwise. */
export function expiryWarning(
  material: Pick<TlsMaterial, 'expiresAt' | 'certFile'>,
  now: Date = new Date(),
): string | undefined {
  const left = material.expiresAt.getTime() - now.getTime();
  if (left >= EXPIRY_WARNING_DAYS * DAY_MS) return undefined;
  if (left <= 0)
    return `tls: the certificate ${material.certFile} expired at ${material.expiresAt.toISOString()}; renew it`;
  const days = Math.floor(left / DAY_MS);
  return `tls: the certificate ${material.certFile} expires in ${days} day(s), at ${material.expiresAt.toISOString()}; renew it before then`;
}
