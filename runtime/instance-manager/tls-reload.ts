/**
 * The instance manager's certificate, key and client CA come from files mounted from Secrets, which
 * the kubelet rewrites in place when the operator renews them (docs/decisions/0260-cluster-pki.md).
 * The server re-reads them every 30 s and swaps its secure context when they changed, so a renewal
 * needs no restart of the Pod or the database: new handshakes present the new certificate, open
 * connections (a backup in flight) keep theirs.
 *
 * Polling rather than fs.watch: the kubelet swaps a `..data` symlink, which inotify reports on the
 * directory, not on the files the env names, and not at all on some filesystems. Reading three small
 * files every 30 s costs nothing. A changed set that does not form a usable pair (half written, a
 * key of another certificate, a CA that does not parse) is refused with one warning and the old
 * context stays; the same set is not retried until the files change again.
 *
 * Logs carry the certificate's notAfter and OpenSSL's or the parser's message, never file contents.
 */
import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContextOptions, type Server } from 'node:tls';
import type { Logger } from '../logging/logger.js';

export interface TlsMaterial {
  readonly key: string;
  readonly cert: string;
  /** The CA (or CAs, one PEM after another) whose client certificates are accepted. */
  readonly clientCa: string;
}

export type TlsFiles = TlsMaterial;

/** How often the files are read. */
export const TLS_RELOAD_INTERVAL_MS = 30_000;

/** The server's secure-context options: the same at start and on every reload (setSecureContext replaces them all). */
export const secureContextOptions = (tls: TlsMaterial): SecureContextOptions => ({
  key: tls.key,
  cert: tls.cert,
  ca: tls.clientCa,
  minVersion: 'TLSv1.2',
});

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Checks that `tls` can serve: the certificate parses and goes with the key, the client CA holds at
 * least one certificate and every one parses, and OpenSSL takes the set. Returns the certificate's
 * notAfter; throws with a message that names the problem (never the contents).
 */
export function checkTlsMaterial(tls: TlsMaterial): string {
  const cert = new X509Certificate(tls.cert);
  if (!cert.checkPrivateKey(createPrivateKey(tls.key))) throw new Error('the key does not belong to the certificate');
  const cas = tls.clientCa.match(PEM_CERTIFICATE) ?? [];
  if (!cas.length) throw new Error('the client CA file holds no certificate');
  for (const ca of cas) new X509Certificate(ca);
  createSecureContext(secureContextOptions(tls));
  return cert.validTo;
}

export function readTlsFiles(files: TlsFiles): TlsMaterial {
  return { key: readFileSync(files.key, 'utf8'), cert: readFileSync(files.cert, 'utf8'), clientCa: readFileSync(files.clientCa, 'utf8') };
}

const digest = (tls: TlsMaterial): string =>
  createHash('sha256').update(tls.key).update('\0').update(tls.cert).update('\0').update(tls.clientCa).digest('hex');

export interface TlsReloadOptions {
  readonly files: TlsFiles;
  /** What the server was started with. */
  readonly initial: TlsMaterial;
  readonly logger: Logger;
  /** @default TLS_RELOAD_INTERVAL_MS */
  readonly intervalMs?: number;
}

/**
 * Re-reads `files` every `intervalMs` and gives `server` the new secure context when they changed
 * and are usable. Returns a function that stops it; the timer never keeps the process alive.
 */
export function reloadTlsOnChange(server: Server, options: TlsReloadOptions): () => void {
  const { files, logger } = options;
  let applied = digest(options.initial);
  /** The last set refused (or the last read error), so each is reported once. */
  let refused: string | undefined;
  const check = () => {
    let next: TlsMaterial;
    try {
      next = readTlsFiles(files);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      if (refused !== code) logger.warn('certificate files cannot be read; keeping the current certificate', { error: code });
      refused = code;
      return;
    }
    const id = digest(next);
    if (id === applied || id === refused) return;
    try {
      const notAfter = checkTlsMaterial(next);
      server.setSecureContext(secureContextOptions(next));
      applied = id;
      refused = undefined;
      logger.info('certificate reloaded', { notAfter });
    } catch (error) {
      refused = id;
      logger.warn('certificate files changed but are not a usable certificate, key and client CA; keeping the current certificate', {
        error: (error as Error).message,
      });
    }
  };
  const timer = setInterval(check, options.intervalMs ?? TLS_RELOAD_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
