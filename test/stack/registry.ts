import type { Component } from './component.js';
import { azurite } from './components/azurite.js';
import { gcs } from './components/gcs.js';
import { images } from './components/images.js';
import { kube } from './components/kube.js';
import { kubelet } from './components/kubelet.js';
import { mariadb } from './components/mariadb.js';
import { minio } from './components/minio.js';
import { postgres } from './components/postgres.js';
import { rgw } from './components/rgw.js';
import { tools } from './components/tools.js';

/** Every component by name, in the order `stack status` and `stack env` list them. */
export const registry: ReadonlyMap<string, Component> = new Map(
  [kube, kubelet, minio, rgw, azurite, gcs, mariadb, postgres, tools, images].map((c) => [c.name, c]),
);

export function getComponent(name: string): Component {
  const c = registry.get(name);
  if (!c) throw new Error(`unknown stack component "${name}"; known: ${[...registry.keys()].join(', ')}`);
  return c;
}
