/**
 * The one kubelet HTTP API the API server needs for `kubectl logs`:
 * GET /containerLogs/<namespace>/<pod>/<container>[?follow&tailLines&limitBytes].
 * HTTPS on 127.0.0.1 with a throwaway self-signed certificate (the API server
 * does not verify kubelet serving certificates unless told to); the port is
 * published in the Node's status.daemonEndpoints.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface LogSource {
  /** The log file of a container, or undefined when the pod/container is unknown here. */
  logPath(namespace: string, pod: string, container: string): string | undefined;
  /** Whether more output can still come (the container is running or will restart). */
  stillWriting(namespace: string, pod: string, container: string): boolean;
}

function ensureCert(dir: string): { key: string; cert: string } {
  mkdirSync(dir, { recursive: true });
  const key = join(dir, 'kubelet.key');
  const cert = join(dir, 'kubelet.crt');
  if (!existsSync(cert)) {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '3650',
        '-subj',
        '/CN=process-kubelet',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
  }
  return { key, cert };
}

function readRange(path: string, start: number, end: number): Buffer {
  const buf = Buffer.alloc(Math.max(0, end - start));
  if (buf.length === 0) return buf;
  const fd = openSync(path, 'r');
  try {
    readSync(fd, buf, 0, buf.length, start);
  } finally {
    closeSync(fd);
  }
  return buf;
}

function tail(text: string, lines: number): string {
  const parts = text.split('\n');
  const trailing = parts.at(-1) === '' ? 1 : 0;
  return parts.slice(Math.max(0, parts.length - trailing - lines)).join('\n');
}

export async function startLogServer(certDir: string, source: LogSource): Promise<{ server: Server; port: number }> {
  const { key, cert } = ensureCert(certDir);
  const server = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (req.method !== 'GET' || !m) {
      res.writeHead(404).end('the process kubelet serves only /containerLogs\n');
      return;
    }
    const [ns, pod, container] = m.slice(1).map(decodeURIComponent);
    const path = source.logPath(ns, pod, container);
    if (!path || !existsSync(path)) {
      res.writeHead(404).end(`no log for container ${container} of pod ${ns}/${pod}\n`);
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    let offset = statSync(path).size;
    let text = readRange(path, 0, offset).toString('utf8');
    const tailLines = url.searchParams.get('tailLines');
    if (tailLines !== null) text = tail(text, Number(tailLines));
    const limit = url.searchParams.get('limitBytes');
    if (limit !== null) text = Buffer.from(text).subarray(0, Number(limit)).toString('utf8');
    res.write(text);
    if (url.searchParams.get('follow') !== 'true') {
      res.end();
      return;
    }
    let idle = 0;
    const timer = setInterval(() => {
      const size = existsSync(path) ? statSync(path).size : offset;
      if (size > offset) {
        res.write(readRange(path, offset, size));
        offset = size;
        idle = 0;
      } else if (!source.stillWriting(ns, pod, container) && ++idle > 3) {
        clearInterval(timer);
        res.end();
      }
    }, 250);
    req.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}
