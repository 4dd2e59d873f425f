/**
 * Where the kube component keeps things, and which loopback ports it uses.
 * One place, so the component, the kubelet and the tests agree.
 */
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StackContext } from '../component.js';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = join(here, '..', '..', '..');

const versions = JSON.parse(readFileSync(join(here, '..', 'versions.json'), 'utf8')) as {
  kubernetes: string;
  etcd: string;
};
/** Exact Kubernetes release, e.g. "1.30.14" (staging modules are v0.30.14). */
export const kubernetesVersion = versions.kubernetes;
/** Debian's etcd-server version we expect (prefix of the package version). */
export const etcdVersion = versions.etcd;

// Non-default ports, so a developer's own cluster or etcd on this box is untouched.
// SILO_KUBE_PORT_OFFSET shifts them all, for a second stack (with its own
// SILO_STACK_ROOT) next to a running one.
const offset = Number.parseInt(process.env.SILO_KUBE_PORT_OFFSET ?? '0', 10) || 0;
export const ports = {
  etcdClient: 12379 + offset,
  etcdPeer: 12380 + offset,
  apiserver: 16443 + offset,
  controllerManager: 16257 + offset,
} as const;

export const apiserverUrl = `https://127.0.0.1:${ports.apiserver}`;
/** The Service CIDR; its first address is in the serving certificate because in-cluster clients use it. */
export const serviceCidr = '10.96.0.0/16';
export const serviceAccountIssuer = 'https://kubernetes.default.svc.cluster.local';

export function binDir(ctx: StackContext): string {
  return join(ctx.cacheDir, `kube-v${kubernetesVersion}`);
}

export function kubeBinary(ctx: StackContext, name: 'kube-apiserver' | 'kube-controller-manager' | 'kubectl'): string {
  return join(binDir(ctx), name);
}

export function kubeDir(ctx: StackContext): string {
  return join(ctx.root, 'kube');
}

export function pkiDir(ctx: StackContext): string {
  return join(kubeDir(ctx), 'pki');
}

export function adminKubeconfig(ctx: StackContext): string {
  return join(kubeDir(ctx), 'admin.kubeconfig');
}

export function pidFile(ctx: StackContext, process: string): string {
  return join(kubeDir(ctx), `${process}.pid`);
}
