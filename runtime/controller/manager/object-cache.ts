/**
 * ObjectCache over the manager's informers. A kind may have several informers
 * (one per watched namespace, one per label selector); reads merge them.
 */
import type { Logger } from '../../logging/logger.js';
import type { KindRef, KubeObject, ObjectCache, ObjectKey } from '../reconciler.js';
import type { RestartingInformer } from './informer.js';

const kindId = (kind: KindRef): string => `${kind.group}/${kind.plural}`;

export class InformerCache implements ObjectCache {
  private readonly byKind = new Map<string, RestartingInformer[]>();
  private readonly warned = new Set<string>();

  constructor(private readonly log: Logger) {}

  add(informer: RestartingInformer): void {
    const id = kindId(informer.spec.kind);
    const list = this.byKind.get(id) ?? [];
    // Unselected informers first: they see every object of the kind.
    list.push(informer);
    list.sort((a, b) => Number(!!a.spec.labelSelector) - Number(!!b.spec.labelSelector));
    this.byKind.set(id, list);
  }

  private informers(kind: KindRef): RestartingInformer[] {
    const list = this.byKind.get(kindId(kind));
    if (!list) {
      if (!this.warned.has(kindId(kind))) {
        this.warned.add(kindId(kind));
        this.log.warn('cache read of a kind no reconciler watches; it always reads as absent — read it from the API server instead', {
          kind: kind.kind,
        });
      }
      return [];
    }
    return list;
  }

  get(kind: KindRef, key: ObjectKey): KubeObject | undefined {
    for (const informer of this.informers(kind)) {
      if (informer.spec.namespace && informer.spec.namespace !== key.namespace) continue;
      const found = informer.get(kind.namespaced ? key.namespace : undefined, key.name);
      if (found) return found;
    }
    return undefined;
  }

  list(kind: KindRef, namespace?: string): KubeObject[] {
    const seen = new Map<string, KubeObject>();
    for (const informer of this.informers(kind)) {
      if (namespace && informer.spec.namespace && informer.spec.namespace !== namespace) continue;
      for (const o of informer.list(namespace)) {
        const k = `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
        if (!seen.has(k)) seen.set(k, o);
      }
    }
    return [...seen.values()];
  }
}
