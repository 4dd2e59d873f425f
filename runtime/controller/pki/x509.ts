/**
 * X.509 for every cluster PKI the operator issues (mysql Clusters, decision 0260; PostgreSQL
 * clusters' pgBackRest TLS, decision 0270): ECDSA P-256 keys made by WebCrypto (node:crypto's),
 * certificates built by @peculiar/x509 (Node 20 can parse and verify certificates but not issue
 * them), a CA per cluster, leaves named by an identity (CN, key usage, DNS names), and the judging
 * of what exists (sound, current, due for renewal). Pure functions, no Kubernetes calls; nothing
 * here logs, and no error message carries key material. Keys are PKCS#8 PEM, certificates PEM.
 */
// @peculiar/x509 refuses to load without a Reflect metadata polyfill; imports run in order, so this comes first.
import 'reflect-metadata';
import { X509Certificate, createHash, createPrivateKey, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export const DAY_MS = 86_400_000;
/** The CA's lifetime. Long enough that its rotation is rare, short enough that a leaked CA key expires. */
export const CA_VALIDITY_DAYS = 365;
/** Server and client certificates' default lifetime (leaves never outlive their CA). */
export const LEAF_VALIDITY_DAYS = 90;
/** notBefore is set this far in the past, so a node whose clock is a little behind accepts a new certificate. */
const BACKDATE_MS = 5 * 60_000;
/** A certificate is renewed at least this long before it expires (but never in the first half of its life). */
const RENEWAL_FLOOR_MS = 30 * DAY_MS;

const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;

export interface PemPair {
  readonly cert: string;
  readonly key: string;
}

/** A positive 128-bit serial number, as hex. */
function serialNumber(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] & 0x7f) | 0x01;
  return Buffer.from(bytes).toString('hex');
}

const newKeys = (): Promise<CryptoKeyPair> =>
  webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']) as unknown as Promise<CryptoKeyPair>;

async function keyPem(key: CryptoKey): Promise<string> {
  return `${x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key as never), 'PRIVATE KEY')}\n`;
}

const importSigningKey = (pem: string): Promise<CryptoKey> =>
  webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(pem), KEY_ALGORITHM, false, ['sign']) as unknown as Promise<CryptoKey>;

/** A new self-signed CA, CN `<cluster>-ca`. */
export async function issueCa(options: { cluster: string; now: Date; validityDays?: number }): Promise<PemPair> {
  const keys = await newKeys();
  const name = `CN=${options.cluster}-ca`;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: name,
    issuer: name,
    notBefore: new Date(options.now.getTime() - BACKDATE_MS),
    notAfter: new Date(options.now.getTime() + (options.validityDays ?? CA_VALIDITY_DAYS) * DAY_MS),
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: `${cert.toString('pem')}\n`, key: await keyPem(keys.privateKey) };
}

/** What a leaf certificate is: its CN, what it may be used for, and the DNS names a server answers to. */
export interface LeafIdentity {
  readonly cn: string;
  readonly usages: readonly x509.ExtendedKeyUsage[];
  readonly dns?: readonly string[];
}

export const SERVER_AUTH = x509.ExtendedKeyUsage.serverAuth;
export const CLIENT_AUTH = x509.ExtendedKeyUsage.clientAuth;

/** A new key and a certificate for `identity`, signed by `ca`, valid `validityDays` (cut to the CA's notAfter). */
export async function issueLeaf(ca: PemPair, identity: LeafIdentity, now: Date, validityDays = LEAF_VALIDITY_DAYS): Promise<PemPair> {
  const caCert = new x509.X509Certificate(ca.cert);
  const keys = await newKeys();
  const notAfter = Math.min(now.getTime() + validityDays * DAY_MS, caCert.notAfter.getTime());
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: `CN=${identity.cn}`,
    issuer: caCert.subjectName,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(notAfter),
    publicKey: keys.publicKey,
    signingKey: await importSigningKey(ca.key),
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([...identity.usages]),
      ...(identity.dns?.length
        ? [new x509.SubjectAlternativeNameExtension(identity.dns.map((value) => ({ type: 'dns' as const, value })))]
        : []),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
    ],
  });
  return { cert: `${cert.toString('pem')}\n`, key: await keyPem(keys.privateKey) };
}

/**
 * What judging one set of PEMs found, apart from the time. A reconciler judges the same Secrets on every pass, every
 * few seconds, and parsing them (ASN.1 in JavaScript, a private key, a signature) was about a third of the operator's
 * CPU while a PostgreSQL restore started (decision 0253). The answer for the same bytes is the same, so it is kept,
 * under a digest of them: no key material stays in memory. The time is applied on every call (renewAt, notAfter).
 */
interface Verdict {
  readonly sound: boolean;
  /** notAfter in ms; 0 when the certificate does not parse. */
  readonly notAfter: number;
  /** When it is due for renewal, in ms; -Infinity when it does not parse. */
  readonly renewAt: number;
}
const VERDICTS_KEPT = 1024;
const verdicts = new Map<string, Verdict>();

function verdictOf(parts: readonly string[], judge: () => boolean, certPem: string): Verdict {
  const digest = createHash('sha256');
  for (const part of parts) digest.update(part).update('\0');
  const key = digest.digest('base64');
  let verdict = verdicts.get(key);
  if (!verdict) {
    let sound: boolean;
    try {
      sound = judge();
    } catch {
      // A key that does not parse.
      sound = false;
    }
    verdict = {
      sound,
      notAfter: validityOf(certPem)?.notAfter.getTime() ?? 0,
      renewAt: renewalTime(certPem)?.getTime() ?? -Infinity,
    };
    // Old answers cost nothing to find again: a full table starts over rather than tracking use.
    if (verdicts.size >= VERDICTS_KEPT) verdicts.clear();
    verdicts.set(key, verdict);
  }
  return verdict;
}

/**
 * A leaf the operator may keep: parses, holds its key, was signed by `caCert`, names exactly what
 * `identity` names (CN and DNS names), and is not due for renewal at `now`. Anything else is re-issued.
 */
export function leafMatches(leaf: PemPair, caCert: string, identity: Pick<LeafIdentity, 'cn' | 'dns'>, now: Date): boolean {
  const dns = identity.dns?.length ? identity.dns.map((name) => `DNS:${name}`).join(', ') : undefined;
  const verdict = verdictOf(
    ['leaf', leaf.cert, leaf.key, caCert, identity.cn, dns ?? ''],
    () => {
      const cert = parse(leaf.cert);
      const ca = parse(caCert);
      return (
        !!cert &&
        !!ca &&
        cert.checkIssued(ca) &&
        cert.verify(ca.publicKey) &&
        cert.checkPrivateKey(createPrivateKey(leaf.key)) &&
        cert.subject.trim() === `CN=${identity.cn}` &&
        cert.subjectAltName === dns
      );
    },
    leaf.cert,
  );
  return verdict.sound && now.getTime() < verdict.renewAt;
}

/** notBefore and notAfter of a PEM certificate, or undefined when it does not parse. */
export function validityOf(certPem: string): { notBefore: Date; notAfter: Date } | undefined {
  try {
    const cert = new x509.X509Certificate(certPem);
    return { notBefore: cert.notBefore, notAfter: cert.notAfter };
  } catch {
    return undefined;
  }
}

/**
 * When a certificate is due for renewal: once less than a third of its lifetime is left, or less
 * than 30 days, whichever comes first, but never in the first half of its life (a short-lived
 * certificate would otherwise be due as soon as it is issued). 90 days: day 60; a 1-year CA: about
 * 122 days before it expires. Undefined when the PEM does not parse.
 */
export function renewalTime(certPem: string): Date | undefined {
  const validity = validityOf(certPem);
  if (!validity) return undefined;
  const end = validity.notAfter.getTime();
  const lifetime = end - validity.notBefore.getTime();
  return new Date(end - Math.min(Math.max(lifetime / 3, RENEWAL_FLOOR_MS), lifetime / 2));
}

/** True when `certPem` is due for renewal at `now` (or does not parse). */
export function needsRenewal(certPem: string, now: Date): boolean {
  const at = renewalTime(certPem);
  return at === undefined || now.getTime() >= at.getTime();
}

function parse(pem: string): X509Certificate | undefined {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

/** Whether `certPem` (a CA certificate) has not expired at `now`. */
export const stillValid = (certPem: string, now: Date): boolean => (validityOf(certPem)?.notAfter.getTime() ?? 0) > now.getTime();

/** The CA's verdict: parses, is a CA with an ECDSA P-256 key, signed itself and holds the key that goes with it. */
const caVerdict = (ca: PemPair): Verdict =>
  verdictOf(
    ['ca', ca.cert, ca.key],
    () => {
      const cert = parse(ca.cert);
      return (
        !!cert &&
        cert.ca &&
        cert.publicKey.asymmetricKeyDetails?.namedCurve === 'prime256v1' &&
        cert.checkIssued(cert) &&
        cert.verify(cert.publicKey) &&
        cert.checkPrivateKey(createPrivateKey(ca.key))
      );
    },
    ca.cert,
  );

/**
 * A sound CA: parses, is a CA with an ECDSA P-256 key (the only kind the operator signs with),
 * signed itself, holds the key that goes with it, and has not expired.
 */
export function caIsSound(ca: PemPair, now: Date): boolean {
  const verdict = caVerdict(ca);
  return verdict.sound && verdict.notAfter > now.getTime();
}

/** A CA the operator keeps signing with: sound and not yet due for renewal. */
export function caIsCurrent(ca: PemPair, now: Date): boolean {
  const verdict = caVerdict(ca);
  return verdict.sound && verdict.notAfter > now.getTime() && now.getTime() < verdict.renewAt;
}
