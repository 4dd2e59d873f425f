/** Reads the synthesized manifests in dist/ as objects; the kinds decide, not the file names. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { spawnSync } from 'node:child_process';
import type { KubernetesObject } from '@kubernetes/client-node';
import { adminKubeconfig, kubeBinary, repoRoot } from '../../stack/kube/layout.js';
import type { StackContext } from '../../stack/component.js';

export const distDir = join(repoRoot, 'dist');

export interface DistFile {
  file: string;
  objects: KubernetesObject[];
}

export function readDist(): DistFile[] {
  return readdirSync(distDir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((file) => ({
      file,
      objects: parseAllDocuments(readFileSync(join(distDir, file), 'utf8'))
        .map((d) => d.toJS() as KubernetesObject)
        .filter((o) => o && o.kind),
    }));
}

/**
 * The install bundle is every file that carries CRDs; monitoring is the file of
 * Prometheus Operator objects (its CRDs are not on the test API server); the rest are examples.
 */
export function splitDist(): {
  crds: KubernetesObject[];
  bundle: KubernetesObject[];
  examples: KubernetesObject[];
  monitoring: KubernetesObject[];
} {
  const files = readDist();
  const isBundle = (f: DistFile) => f.objects.some((o) => o.kind === 'CustomResourceDefinition');
  const isMonitoring = (f: DistFile) => f.objects.every((o) => o.apiVersion?.startsWith('monitoring.coreos.com/'));
  const bundle = files.filter(isBundle).flatMap((f) => f.objects);
  return {
    crds: bundle.filter((o) => o.kind === 'CustomResourceDefinition'),
    bundle,
    examples: files.filter((f) => !isBundle(f) && !isMonitoring(f)).flatMap((f) => f.objects),
    monitoring: files.filter(isMonitoring).flatMap((f) => f.objects),
  };
}

export const describeObject = (o: KubernetesObject) =>
  `${o.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`;

/**
 * Applies one object with the kubectl built next to the API server. Not
 * client-node's KubernetesObjectApi: it re-serialises built-in kinds through
 * its typed models and silently drops keys such as
 * x-kubernetes-preserve-unknown-fields from CRD schemas.
 * mode 'apply': `kubectl apply --server-side`; 'dry-run': `kubectl apply --dry-run=server`.
 */
export function kubectlApply(ctx: StackContext, obj: KubernetesObject, mode: 'apply' | 'dry-run'): void {
  const args =
    mode === 'apply'
      ? ['apply', '--server-side', '--force-conflicts', '--field-manager=silo-tests', '-f', '-']
      : ['apply', '--dry-run=server', '-f', '-'];
  const res = spawnSync(kubeBinary(ctx, 'kubectl'), args, {
    input: JSON.stringify(obj),
    encoding: 'utf8',
    env: { ...process.env, KUBECONFIG: adminKubeconfig(ctx) },
    timeout: 60_000,
  });
  if (res.status !== 0) throw new Error((res.stderr || res.stdout || `kubectl exited ${res.status}`).trim());
}

/** Namespaces first, then CRDs, then everything else: the order an installer must use. */
export function installOrder(objects: KubernetesObject[]): KubernetesObject[] {
  const rank = (o: KubernetesObject) => (o.kind === 'Namespace' ? 0 : o.kind === 'CustomResourceDefinition' ? 1 : 2);
  return [...objects].sort((a, b) => rank(a) - rank(b));
}
