/**
 * A stand-in for cluster DNS, for the names a Pod gets from `spec.hostname` and `spec.subdomain`
 * (`<hostname>.<subdomain>.<namespace>.svc[.cluster.local]`, which CoreDNS answers for the Pods of a
 * headless Service named like the subdomain). The kubelet keeps one hosts file: this machine's
 * /etc/hosts followed by a line per running Pod that has both fields, and binds it over /etc/hosts in
 * every container. glibc reads /etc/hosts on every lookup and the file is rewritten in place (same
 * inode, so the bind mounts see it), so a Pod that starts later, or comes back with another IP, is
 * found by name without restarting anyone. Programs that check a TLS peer's name against the name
 * they dialed (pgBackRest) need this: there is no DNS server here (decision 0104).
 *
 * Not emulated: the check that a headless Service of that name exists, Service names, search paths.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';

/** The names cluster DNS gives a Pod with spec.hostname and spec.subdomain, or none. */
export function podDnsNames(pod: V1Pod): string[] {
  const { hostname, subdomain } = pod.spec ?? {};
  const namespace = pod.metadata?.namespace;
  if (!hostname || !subdomain || !namespace) return [];
  const base = `${hostname}.${subdomain}.${namespace}.svc`;
  return [`${base}.cluster.local`, base];
}

export class PodHostsFile {
  private readonly entries = new Map<string, string>(); // uid → hosts line
  private readonly base: string;

  constructor(readonly path: string) {
    let host: string;
    try {
      host = readFileSync('/etc/hosts', 'utf8');
    } catch {
      host = '127.0.0.1 localhost\n';
    }
    this.base = host.endsWith('\n') ? host : `${host}\n`;
    mkdirSync(dirname(path), { recursive: true });
    this.write();
  }

  /** Records (or forgets, with no IP) the Pod's names. */
  set(uid: string, pod: V1Pod, ip: string | undefined): void {
    const names = podDnsNames(pod);
    const line = ip && names.length ? `${ip} ${names.join(' ')}` : undefined;
    if (line === this.entries.get(uid)) return;
    if (line) this.entries.set(uid, line);
    else this.entries.delete(uid);
    this.write();
  }

  forget(uid: string): void {
    if (this.entries.delete(uid)) this.write();
  }

  private write(): void {
    const pods = [...this.entries.values()];
    const text = this.base + (pods.length ? `# Pods of the process kubelet (cluster DNS stand-in)\n${pods.join('\n')}\n` : '');
    // writeFileSync truncates and rewrites the same inode: the containers' bind mounts see the new text.
    writeFileSync(this.path, text);
  }
}
