import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { V1Pod } from '@kubernetes/client-node';
import { PodHostsFile, podDnsNames } from '../../stack/kubelet/cluster-dns.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const pod = (hostname?: string, subdomain?: string): V1Pod => ({
  metadata: { name: 'p', namespace: 'ns' },
  spec: { containers: [], hostname, subdomain },
});

describe('process kubelet: the cluster-DNS stand-in (decision 0104)', () => {
  const tempDir = useTempDirs();
  it('a Pod with hostname and subdomain gets its two names; others none', () => {
    expect(podDnsNames(pod('shop-1', 'shop-instances'))).to.deep.equal([
      'shop-1.shop-instances.ns.svc.cluster.local',
      'shop-1.shop-instances.ns.svc',
    ]);
    expect(podDnsNames(pod('shop-1'))).to.deep.equal([]);
  });

  it('keeps the host entries, adds and forgets Pods, rewriting the same inode', () => {
    const path = join(tempDir('silo-dns-'), 'hosts');
    const hosts = new PodHostsFile(path);
    const inode = statSync(path).ino;
    expect(readFileSync(path, 'utf8')).to.match(/localhost/);
    hosts.set('uid-1', pod('shop-1', 'shop-instances'), '127.1.0.5');
    expect(readFileSync(path, 'utf8')).to.contain('127.1.0.5 shop-1.shop-instances.ns.svc.cluster.local shop-1.shop-instances.ns.svc');
    hosts.set('uid-1', pod('shop-1', 'shop-instances'), '127.1.0.9');
    expect(readFileSync(path, 'utf8')).to.contain('127.1.0.9 shop-1').and.not.contain('127.1.0.5');
    hosts.forget('uid-1');
    expect(readFileSync(path, 'utf8')).to.not.contain('shop-1');
    expect(statSync(path).ino).to.equal(inode);
  });
});
