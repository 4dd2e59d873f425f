import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StackContext } from '../component.js';
import { run } from '../lib/run.js';

export interface TestCa {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
}

export function testCaPaths(ctx: StackContext): TestCa {
  const dir = join(ctx.root, 'tls');
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
  };
}

/**
 * A throwaway CA and one server certificate for every TLS listener of the
 * stack. The SAN carries DNS:localhost because pgBackRest rejects a server
 * named only by an IP SAN; IP:127.0.0.1 is added for clients that dial the IP.
 */
export async function ensureTestCa(ctx: StackContext): Promise<TestCa> {
  const paths = testCaPaths(ctx);
  if (existsSync(paths.serverCert) && existsSync(paths.serverKey) && existsSync(paths.caCert)) return paths;
  mkdirSync(paths.dir, { recursive: true });
  const caKey = join(paths.dir, 'ca.key');
  const csr = join(paths.dir, 'server.csr');
  const ext = join(paths.dir, 'server.ext');
  writeFileSync(
    ext,
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '',
    ].join('\n'),
  );
  const o = { cwd: paths.dir };
  await run(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      caKey,
      '-out',
      paths.caCert,
      '-days',
      '3650',
      '-subj',
      '/CN=Silo test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    o,
  );
  await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', paths.serverKey, '-out', csr, '-subj', '/CN=localhost'], o);
  await run(
    'openssl',
    [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      paths.caCert,
      '-CAkey',
      caKey,
      '-CAcreateserial',
      '-out',
      paths.serverCert,
      '-days',
      '825',
      '-extfile',
      ext,
    ],
    o,
  );
  ctx.log(`test CA written to ${paths.dir}`);
  return paths;
}
