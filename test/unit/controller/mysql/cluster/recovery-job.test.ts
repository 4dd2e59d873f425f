import { expect } from 'chai';
import { renderRecoveryJob } from '../../../../../runtime/controller/mysql/cluster/recovery-job.js';
import { clusterServices } from '../../../../../runtime/controller/mysql/cluster/cluster-services.js';
import { DATA_DIR, PVC_MOUNT } from '../../../../../runtime/contracts/instance-pod.js';

const owner = { apiVersion: 'mysql.cloudnative-mysql.io/v1alpha1', kind: 'Cluster', name: 'db', uid: 'u1', controller: true };
const store = {
  bucket: 'backups',
  path: 'prod',
  endpoint: 'http://minio:9000',
  credentials: { accessKeyId: { name: 'creds', key: 'a' }, secretAccessKey: { name: 'creds', key: 's' } },
  encryption: { age: { recipients: ['age1' + 'q'.repeat(58)], identitySecretRef: { name: 'age', key: 'identity' } } },
};
const cluster = {
  apiVersion: 'mysql.cloudnative-mysql.io/v1alpha1',
  kind: 'Cluster',
  metadata: { name: 'db', namespace: 'shop' },
  spec: { storage: { size: '1Gi' } },
} as never;
const recovery = {
  backupID: '20261204T120000Z',
  objectStore: store,
  chain: [
    { backupId: '20261203T120000Z', metadataKey: 'prod/src/full/20261203T120000Z/metadata.json', sha256: 'a'.repeat(64) },
    { backupId: '20261204T120000Z', metadataKey: 'prod/src/inc/20261204T120000Z/metadata.json', sha256: 'b'.repeat(64) },
  ],
} as never;

describe('cluster recovery Job and Services', () => {
  const job = renderRecoveryJob({ cluster, recovery, instanceName: 'db-1', attempt: 2, image: 'img:1', owner });
  const pod = job.spec!.template.spec!;
  const env = Object.fromEntries(pod.containers[0].env!.map((e) => [e.name, e]));

  it('mounts the first instance PVC and restores into its datadir, one attempt per Job', () => {
    expect(job.metadata!.name).to.equal('db-1-recovery-2');
    expect(job.spec!.backoffLimit).to.equal(0);
    expect(pod.volumes!.find((v) => v.name === 'data')!.persistentVolumeClaim!.claimName).to.equal('db-1');
    expect(pod.containers[0].volumeMounts!.find((m) => m.name === 'data')!.mountPath).to.equal(PVC_MOUNT);
    expect(pod.containers[0].command).to.include(DATA_DIR);
  });

  it('restores exactly the recorded chain, oldest first, with credentials and identity only as Secret references', () => {
    expect(env.SILO_METADATA_KEYS.value!.split(',')).to.deep.equal([
      'prod/src/full/20261203T120000Z/metadata.json',
      'prod/src/inc/20261204T120000Z/metadata.json',
    ]);
    for (const e of Object.values(env).filter((e) => /KEY|IDENTITY/.test(e.name) && !/METADATA/.test(e.name)))
      expect(e.value, e.name).to.equal(undefined);
    expect(JSON.stringify(pod)).to.contain('"name":"age"');
  });

  it('the three Services select the primary, serving replicas and any instance', () => {
    const [rw, ro, r] = clusterServices('db', 'shop', owner);
    expect(rw.spec!.selector).to.deep.include({ 'mysql.cloudnative-mysql.io/instance-role': 'primary' });
    expect(ro.spec!.selector).to.deep.include({
      'mysql.cloudnative-mysql.io/instance-role': 'replica',
      'mysql.cloudnative-mysql.io/serving': 'true',
    });
    expect(Object.keys(r.spec!.selector!)).to.deep.equal(['mysql.cloudnative-mysql.io/cluster']);
  });
});
