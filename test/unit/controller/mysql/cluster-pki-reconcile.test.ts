import { X509Certificate } from 'node:crypto';
import { ApiException, type V1Secret } from '@kubernetes/client-node';
import { expect } from 'chai';
import type { Secret } from '../../../../runtime/controller/kube/client.js';
import { toWire } from '../../../../runtime/controller/kube/client.js';
import {
  ensureClusterPki,
  type ClusterObject,
  type PkiClient,
} from '../../../../runtime/controller/mysql/cluster/cluster-pki-reconcile.js';
import { issueCa } from '../../../../runtime/controller/mysql/cluster/cluster-pki.js';

const DAY = 86_400_000;
const start = new Date('2026-12-04T10:00:00Z');
const at = (days: number) => new Date(start.getTime() + days * DAY);

/** The Secret calls ensureClusterPki makes, against a map, with resourceVersions and the API server's errors. */
class FakeSecrets implements PkiClient {
  readonly secrets = new Map<string, Secret>();
  readonly calls: string[] = [];
  failReads?: number;

  async readSecret(namespace: string, name: string): Promise<Secret> {
    this.calls.push(`read ${name}`);
    if (this.failReads) throw new ApiException(this.failReads, 'forbidden', {}, {});
    const secret = this.secrets.get(`${namespace}/${name}`);
    if (!secret) throw new ApiException(404, 'not found', {}, {});
    return structuredClone(secret);
  }

  async createSecret(namespace: string, secret: V1Secret): Promise<void> {
    const key = `${namespace}/${secret.metadata!.name}`;
    this.calls.push(`create ${secret.metadata!.name}`);
    if (this.secrets.has(key)) throw new ApiException(409, 'exists', {}, {});
    this.secrets.set(key, toWire({ ...secret, metadata: { ...secret.metadata, resourceVersion: '1' } }));
  }

  async replaceSecret(namespace: string, secret: V1Secret): Promise<void> {
    const key = `${namespace}/${secret.metadata!.name}`;
    this.calls.push(`replace ${secret.metadata!.name}`);
    const current = this.secrets.get(key);
    if (!current) throw new ApiException(404, 'not found', {}, {});
    if (secret.metadata?.resourceVersion !== current.metadata?.resourceVersion) throw new ApiException(409, 'conflict', {}, {});
    const version = String(Number(current.metadata!.resourceVersion) + 1);
    this.secrets.set(key, toWire({ ...secret, metadata: { ...secret.metadata, resourceVersion: version } }));
  }

  /** A Secret someone else made: no owner reference. */
  put(name: string, data: Record<string, string>): void {
    const encoded = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
    this.secrets.set(`shop/${name}`, { metadata: { name, namespace: 'shop', resourceVersion: '7' }, data: encoded });
  }

  text(name: string, key: string): string {
    return Buffer.from(this.secrets.get(`shop/${name}`)?.data?.[key] ?? '', 'base64').toString('utf8');
  }

  cert(name: string, key = 'tls.crt'): X509Certificate {
    return new X509Certificate(this.text(name, key));
  }
}

const cluster = (spec: Omit<ClusterObject['spec'], 'storage'> = {}): ClusterObject => ({
  apiVersion: 'mysql.cloudnative-mysql.io/v1alpha1',
  kind: 'Cluster',
  metadata: { name: 'db', namespace: 'shop', uid: 'uid-1' },
  spec: { storage: { size: '1Gi' }, ...spec },
});

const LEAVES = ['db-server-tls', 'db-client-tls', 'db-replication-tls'];

describe('controller/mysql/cluster: ensureClusterPki', function () {
  this.timeout(30_000);

  it('creates the CA and trust Secrets first, then the certificates, owned by the Cluster; a second call writes nothing', async () => {
    const fake = new FakeSecrets();
    const first = await ensureClusterPki(fake, cluster(), { now: start });
    expect(first.ok && first.written).to.deep.equal(['db-ca', 'db-server-ca', 'db-client-ca', ...LEAVES]);
    for (const secret of fake.secrets.values()) {
      expect(secret.metadata?.ownerReferences).to.deep.equal([
        {
          apiVersion: 'mysql.cloudnative-mysql.io/v1alpha1',
          kind: 'Cluster',
          name: 'db',
          uid: 'uid-1',
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
    }
    const ca = fake.cert('db-ca', 'ca.crt');
    for (const leaf of LEAVES) expect(fake.cert(leaf).checkIssued(ca), leaf).to.equal(true);
    // The leaves are due first: 90 days, renewed with a third (30 days) left.
    expect(first.ok && first.nextRenewal!.getTime()).to.be.closeTo(at(60).getTime(), 10 * 60_000);
    expect(first.ok && first.names.clientTLS).to.equal('db-client-tls');

    fake.calls.length = 0;
    const second = await ensureClusterPki(fake, cluster(), { now: at(1) });
    expect(second.ok && second.written).to.deep.equal([]);
    expect(fake.calls.filter((c) => !c.startsWith('read'))).to.deep.equal([]);
  });

  it('renews the leaves that are due with the same CA, replacing their data under their resourceVersion', async () => {
    const fake = new FakeSecrets();
    await ensureClusterPki(fake, cluster(), { now: start });
    const before = Object.fromEntries(LEAVES.map((n) => [n, fake.cert(n).serialNumber]));
    const caBefore = fake.text('db-ca', 'ca.key');
    const renewed = await ensureClusterPki(fake, cluster(), { now: at(61) });
    expect(renewed.ok && renewed.written).to.deep.equal(LEAVES);
    expect(fake.calls.filter((c) => c.startsWith('replace'))).to.deep.equal(LEAVES.map((n) => `replace ${n}`));
    expect(fake.text('db-ca', 'ca.key')).to.equal(caBefore);
    for (const leaf of LEAVES) {
      expect(fake.cert(leaf).serialNumber).to.not.equal(before[leaf]);
      expect(fake.cert(leaf).checkIssued(fake.cert('db-ca', 'ca.crt'))).to.equal(true);
      expect(fake.secrets.get(`shop/${leaf}`)!.metadata!.resourceVersion).to.equal('2');
    }
    expect(renewed.ok && renewed.nextRenewal!.getTime()).to.be.closeTo(at(121).getTime(), 10 * 60_000);
  });

  it('rotates a CA that is due: everything re-issued, the old CA trusted until it expires, then dropped', async () => {
    const fake = new FakeSecrets();
    await ensureClusterPki(fake, cluster(), { now: start });
    const oldCa = fake.text('db-ca', 'ca.crt');
    const oldBackupClient = fake.cert('db-client-tls');
    const rotated = await ensureClusterPki(fake, cluster(), { now: at(250) });
    expect(rotated.ok && rotated.written).to.deep.equal(['db-ca', 'db-server-ca', 'db-client-ca', ...LEAVES]);
    const newCa = fake.cert('db-ca', 'ca.crt');
    expect(fake.text('db-ca', 'previous-ca.crt')).to.equal(oldCa);
    for (const leaf of LEAVES) expect(fake.cert(leaf).checkIssued(newCa), leaf).to.equal(true);
    const bundle = fake.text('db-client-ca', 'ca.crt');
    expect(bundle.match(/BEGIN CERTIFICATE/g)).to.have.length(2);
    expect(fake.text('db-server-ca', 'ca.crt')).to.equal(bundle);
    // A Job that still holds the old client certificate is still trusted while the old CA lives.
    expect(bundle).to.include(oldCa.trim());
    expect(oldBackupClient.checkIssued(new X509Certificate(oldCa))).to.equal(true);
    // The old CA expires on day 365: the next look is then at the latest.
    expect(rotated.ok && rotated.nextRenewal!.getTime()).to.be.at.most(at(365).getTime());

    // The new leaves are due on day 310; the old CA leaves the bundles once it has expired.
    const leavesAgain = await ensureClusterPki(fake, cluster(), { now: at(311) });
    expect(leavesAgain.ok && leavesAgain.written).to.deep.equal(LEAVES);
    expect(leavesAgain.ok && leavesAgain.nextRenewal!.getTime()).to.be.closeTo(at(365).getTime(), 10 * 60_000);
    const afterExpiry = await ensureClusterPki(fake, cluster(), { now: at(366) });
    expect(afterExpiry.ok && afterExpiry.written).to.deep.equal(['db-ca', 'db-server-ca', 'db-client-ca']);
    expect(fake.text('db-ca', 'previous-ca.crt')).to.equal('');
    expect(fake.text('db-server-ca', 'ca.crt').match(/BEGIN CERTIFICATE/g)).to.have.length(1);
  });

  it('replaces a broken CA Secret without trusting it any longer', async () => {
    const fake = new FakeSecrets();
    await ensureClusterPki(fake, cluster(), { now: start });
    const other = await issueCa({ cluster: 'db', now: start });
    const secret = fake.secrets.get('shop/db-ca')!;
    secret.data!['ca.key'] = Buffer.from(other.key).toString('base64');
    const result = await ensureClusterPki(fake, cluster(), { now: at(1) });
    expect(result.ok && result.written).to.include.members(['db-ca', ...LEAVES]);
    expect(fake.text('db-ca', 'previous-ca.crt')).to.equal('');
    expect(fake.cert('db-server-tls').checkIssued(fake.cert('db-ca', 'ca.crt'))).to.equal(true);
  });

  it('uses user-supplied Secrets as given: only reads them, and says which one is missing', async () => {
    const fake = new FakeSecrets();
    const certificates = {
      serverCASecret: 'my-ca',
      serverTLSSecret: 'my-tls',
      clientCASecret: 'my-client-ca',
      clientTLSSecret: 'my-client-tls',
    };
    fake.put('my-ca', { 'ca.crt': 'x' });
    fake.put('my-tls', { 'tls.crt': 'x', 'tls.key': 'y' });
    fake.put('my-client-ca', { 'ca.crt': 'x' });
    expect(await ensureClusterPki(fake, cluster({ certificates }), { now: start })).to.deep.equal({
      ok: false,
      reason: 'CertificateSecretMissing',
      message:
        'Cluster db: spec.certificates.clientTLSSecret names Secret my-client-tls, which does not exist; create it with tls.crt and tls.key.',
    });
    fake.put('my-client-tls', { 'tls.crt': 'x' });
    const noKey = await ensureClusterPki(fake, cluster({ certificates }), { now: start });
    expect(!noKey.ok && noKey.message).to.match(/my-client-tls, which has no tls\.key;/);
    fake.put('my-client-tls', { 'tls.crt': 'x', 'tls.key': 'y' });
    const ok = await ensureClusterPki(fake, cluster({ certificates }), { now: start });
    expect(ok).to.deep.include({ ok: true, written: [] });
    expect(ok.ok && ok.nextRenewal).to.equal(undefined);
    expect(fake.calls.filter((c) => !c.startsWith('read'))).to.deep.equal([]);
    expect(fake.calls).to.not.include('read db-ca');
    expect(fake.text('my-tls', 'tls.key')).to.equal('y');
  });

  it('with a user client CA and replicas, asks for the replication certificate by name; the server side is still issued', async () => {
    const fake = new FakeSecrets();
    const certificates = { clientCASecret: 'my-client-ca', clientTLSSecret: 'my-client-tls' };
    fake.put('my-client-ca', { 'ca.crt': 'x' });
    fake.put('my-client-tls', { 'tls.crt': 'x', 'tls.key': 'y' });
    const missing = await ensureClusterPki(fake, cluster({ instances: 3, certificates }), { now: start });
    expect(missing).to.deep.include({ ok: false, reason: 'ReplicationCertificateMissing' });
    expect(!missing.ok && missing.message).to.match(
      /spec\.certificates\.clientCASecret names your own client CA \(my-client-ca\).*create the kubernetes\.io\/tls Secret db-replication-tls/,
    );
    const single = await ensureClusterPki(fake, cluster({ instances: 1, certificates }), { now: start });
    expect(single.ok && single.written).to.deep.equal(['db-ca', 'db-server-ca', 'db-server-tls']);
    fake.put('db-replication-tls', { 'tls.crt': 'x', 'tls.key': 'y' });
    const three = await ensureClusterPki(fake, cluster({ instances: 3, certificates }), { now: start });
    expect(three.ok && three.written).to.deep.equal([]);
    expect(three.ok && three.names).to.deep.include({
      clientCA: 'my-client-ca',
      replicationTLS: 'db-replication-tls',
      serverCA: 'db-server-ca',
    });
  });

  it('never overwrites a Secret under its default names that the Cluster does not own', async () => {
    const fake = new FakeSecrets();
    fake.put('db-server-tls', { 'tls.crt': 'mine', 'tls.key': 'mine' });
    const result = await ensureClusterPki(fake, cluster(), { now: start });
    expect(result).to.deep.include({ ok: false, reason: 'CertificateSecretConflict' });
    expect(!result.ok && result.message).to.match(/^Cluster db: Secret db-server-tls exists and is not owned by this Cluster/);
    expect(fake.calls.filter((c) => !c.startsWith('read'))).to.deep.equal([]);
    expect(fake.text('db-server-tls', 'tls.key')).to.equal('mine');
  });

  it('refuses half a pair, and reports API errors by Secret and HTTP code only', async () => {
    const fake = new FakeSecrets();
    const half = await ensureClusterPki(fake, cluster({ certificates: { serverTLSSecret: 'x' } }), { now: start });
    expect(half).to.deep.include({ ok: false, reason: 'CertificatesIncomplete' });
    fake.failReads = 403;
    const error = await ensureClusterPki(fake, cluster(), { now: start }).catch((e: Error) => e);
    expect((error as Error).message).to.equal('reading Secret shop/db-ca: HTTP 403');
  });
});
