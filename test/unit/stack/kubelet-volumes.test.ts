// The process kubelet's Secret volumes: written at the Pod's start, then kept current while it runs
// (refreshFileVolumes), file by file and whole, as the kubelet does for volumes without subPath.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod, V1Secret } from '@kubernetes/client-node';
import { expect } from 'chai';
import { materializeVolumes, refreshFileVolumes, type VolumeDeps } from '../../stack/kubelet/volumes.js';

describe('process kubelet: Secret volumes follow their Secret', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'silo-kubelet-volumes-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('rewrites the files whose content changed, leaves the others alone, and keeps them when the Secret is gone', async () => {
    let secret: V1Secret | undefined = { data: { 'tls.crt': b64('cert A'), 'tls.key': b64('key A') } };
    const deps = { secret: async () => secret, configMap: async () => undefined } as unknown as VolumeDeps;
    const pod: V1Pod = {
      metadata: { name: 'db-1', namespace: 'shop', uid: 'u' },
      spec: {
        containers: [],
        volumes: [
          {
            name: 'tls',
            secret: {
              secretName: 'db-server-tls',
              items: [
                { key: 'tls.crt', path: 'tls.crt' },
                { key: 'tls.key', path: 'tls.key' },
              ],
            },
          },
        ],
      },
    };
    const dirs = { podDir: dir, pvcRoot: join(dir, 'pvc') };
    const volume = (await materializeVolumes(pod, dirs, deps)).get('tls')!;
    const read = (name: string) => readFileSync(join(volume, name), 'utf8');
    expect([read('tls.crt'), read('tls.key')]).to.deep.equal(['cert A', 'key A']);
    const keyInode = statSync(join(volume, 'tls.key')).ino;

    secret = { data: { 'tls.crt': b64('cert B'), 'tls.key': b64('key A') } };
    await refreshFileVolumes(pod, dirs, deps);
    expect([read('tls.crt'), read('tls.key')]).to.deep.equal(['cert B', 'key A']);
    expect(statSync(join(volume, 'tls.key')).ino, 'an unchanged file is not rewritten').to.equal(keyInode);

    secret = undefined;
    await refreshFileVolumes(pod, dirs, deps);
    expect(read('tls.crt')).to.equal('cert B');
  });
});

const b64 = (s: string) => Buffer.from(s).toString('base64');
