/**
 * kubeconfigForServiceAccount: a kubeconfig that authenticates as a
 * ServiceAccount with a token minted through the TokenRequest API, so a test
 * (or the operator under test) runs with exactly that account's RBAC.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { StackContext } from '../component.js';
import { adminKubeconfig, apiserverUrl, kubeDir, pkiDir } from './layout.js';
import { writeKubeconfig } from './pki.js';

export interface ServiceAccountKubeconfig {
  path: string;
  token: string;
  kubeConfig: KubeConfig;
}

/**
 * Mints a token for namespace/name (the ServiceAccount must exist) valid for
 * expirationSeconds and writes <root>/kube/sa/<namespace>.<name>.kubeconfig.
 */
export async function kubeconfigForServiceAccount(
  ctx: StackContext,
  namespace: string,
  name: string,
  expirationSeconds = 3600,
): Promise<ServiceAccountKubeconfig> {
  const admin = new KubeConfig();
  admin.loadFromFile(adminKubeconfig(ctx));
  const core = admin.makeApiClient(CoreV1Api);
  const tokenRequest = await core.createNamespacedServiceAccountToken({
    namespace,
    name,
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: [], expirationSeconds } },
  });
  const token = tokenRequest.status?.token;
  if (!token) throw new Error(`TokenRequest for ${namespace}/${name} returned no token`);
  const dir = join(kubeDir(ctx), 'sa');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${namespace}.${name}.kubeconfig`);
  writeKubeconfig(
    path,
    apiserverUrl,
    join(pkiDir(ctx), 'ca.crt'),
    { name: `system:serviceaccount:${namespace}:${name}`, token },
    namespace,
  );
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(path);
  return { path, token, kubeConfig };
}
