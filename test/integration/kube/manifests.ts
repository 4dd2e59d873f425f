/** Reads the synthesized manifests in dist/ as objects; the kinds decide, not the file names. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { KubernetesObjectApi, PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import { repoRoot } from '../../stack/kube/layout.js';

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

/** The install bundle is every file that carries CRDs; the rest are examples. */
export function splitDist(): { crds: KubernetesObject[]; bundle: KubernetesObject[]; examples: KubernetesObject[] } {
  const files = readDist();
  const isBundle = (f: DistFile) => f.objects.some((o) => o.kind === 'CustomResourceDefinition');
  const bundle = files.filter(isBundle).flatMap((f) => f.objects);
  return {
    crds: bundle.filter((o) => o.kind === 'CustomResourceDefinition'),
    bundle,
    examples: files.filter((f) => !isBundle(f)).flatMap((f) => f.objects),
  };
}

export const describeObject = (o: KubernetesObject) =>
  `${o.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`;

/** Server-side apply, like `kubectl apply --server-side [--dry-run=server]`. */
export async function serverSideApply(client: KubernetesObjectApi, obj: KubernetesObject, dryRun = false): Promise<KubernetesObject> {
  return client.patch(obj, undefined, dryRun ? 'All' : undefined, 'silo-tests', true, PatchStrategy.ServerSideApply);
}

/** Namespaces first, then CRDs, then everything else: the order an installer must use. */
export function installOrder(objects: KubernetesObject[]): KubernetesObject[] {
  const rank = (o: KubernetesObject) => (o.kind === 'Namespace' ? 0 : o.kind === 'CustomResourceDefinition' ? 1 : 2);
  return [...objects].sort((a, b) => rank(a) - rank(b));
}
