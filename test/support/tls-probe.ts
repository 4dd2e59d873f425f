/**
 * One TLS handshake against `host` (default 127.0.0.1):`port`, as a client of the Cluster PKI would make it: it
 * verifies the server against `ca` and `servername` and presents `cert`/`key` when given, then
 * sends `GET /healthz` (an HTTPS server answers it; a plain TLS server may write anything). Resolves
 * with the server's certificate once the server has written a byte, so a client the server refuses
 * under TLS 1.3, whose handshake completes on the client's side first, is seen as refused too;
 * rejects with the connection's error otherwise.
 */
import { connect, type PeerCertificate } from 'node:tls';

export interface ProbeOptions {
  /** @default 127.0.0.1 */
  readonly host?: string;
  readonly port: number;
  readonly ca: string;
  readonly servername: string;
  readonly cert?: string;
  readonly key?: string;
}

export function tlsProbe(options: ProbeOptions): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', ...options, minVersion: 'TLSv1.2' }, () =>
      socket.write('GET /healthz HTTP/1.1\r\nhost: probe\r\nconnection: close\r\n\r\n'),
    );
    socket.once('data', () => {
      const peer = socket.getPeerCertificate();
      socket.destroy();
      resolve(peer);
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('closed before the server accepted the client')));
  });
}
