import { expect } from 'chai';
import {
  BACKUP_POD_ANNOTATION,
  JOB_SELECTOR,
  jobNameFor,
  renderBackupJob,
  type BackupPlan,
} from '../../../../../runtime/controller/mysql/backup/backup-job.js';
import { annotatedKeys } from '../../../../../runtime/controller/kube/owner-keys.js';
import { instanceSelector } from '../../../../../runtime/controller/mysql/backup/backup-source.js';
import { resolveImage } from '../../../../stack/kubelet/images.js';
import { backup, cluster, store } from './fixtures.js';

const plan: BackupPlan = {
  backupId: '20261122T050000Z',
  jobName: 'nightly-20261122t050000z',
  dataKey: 'prod/db/nightly/20261122T050000Z/backup.xbstream',
  metadataKey: 'prod/db/nightly/20261122T050000Z/metadata.json',
  type: 'full',
};
const source = { podName: 'db-2', role: 'replica' as const, instanceManagerUrl: 'https://127.1.0.9:8443' };

/** A minimal label-selector matcher for `k=v`, `k in (a,b)` and `k` (exists) terms. */
function matches(selector: string, labels: Record<string, string>): boolean {
  return selector.split(/,(?![^(]*\))/).every((term) => {
    const inSet = /^(\S+) in \((.*)\)$/.exec(term);
    if (inSet) return inSet[2].split(',').includes(labels[inSet[1]]);
    const [k, v] = term.split('=');
    return v === undefined ? k in labels : labels[k] === v;
  });
}

describe('Backup Job rendering', () => {
  const render = (c = cluster(), b = backup('nightly', { objectStore: store })) =>
    renderBackupJob({
      backup: b,
      cluster: c,
      store: b.spec.objectStore ?? c.spec.backup!.objectStore!,
      source,
      plan,
      workerImage: 'ghcr.io/silo-operator/silo:0.1.0',
    });

  it('one attempt, the deadline from spec.deadlineSeconds, owned by the Backup', () => {
    const job = render();
    expect(job.spec!.backoffLimit).to.equal(0);
    expect(job.spec!.activeDeadlineSeconds).to.equal(600);
    expect(job.metadata!.ownerReferences).to.deep.equal([
      {
        apiVersion: 'mysql.cloudnative-mysql.io/v1alpha1',
        kind: 'Backup',
        name: 'nightly',
        uid: 'nightly-uid',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    const env = Object.fromEntries(job.spec!.template.spec!.containers[0].env!.map((e) => [e.name, e.value]));
    expect(env.SILO_DEADLINE_SECONDS, 'the worker stops itself first, to abort the upload cleanly').to.equal('585');
    expect(job.spec!.template.spec!.restartPolicy).to.equal('Never');
  });

  it("its Pods carry the Backup's whole name, which the Backup reconciler's Pod watch maps back to it", () => {
    const long = 'n'.repeat(90);
    const job = render(cluster(), backup(long, { objectStore: store }));
    const pod = { metadata: { namespace: 'db', ...job.spec!.template.metadata } };
    expect(annotatedKeys(BACKUP_POD_ANNOTATION)(pod as never)).to.deep.equal([{ namespace: 'db', name: long }]);
    expect(matches(JOB_SELECTOR, job.spec!.template.metadata!.labels!), 'the Pod watch selects them').to.equal(true);
  });

  it("stable labels that never match the Cluster's instance selector", () => {
    const job = render();
    expect(job.metadata!.labels).to.deep.equal({
      'app.kubernetes.io/managed-by': 'silo',
      'app.kubernetes.io/component': 'backup',
      'mysql.cloudnative-mysql.io/cluster': 'db',
      'mysql.cloudnative-mysql.io/backup': 'nightly',
    });
    expect(job.spec!.template.metadata!.labels).to.deep.equal(job.metadata!.labels);
    expect(matches(instanceSelector('db'), job.spec!.template.metadata!.labels!)).to.equal(false);
    expect(
      matches(instanceSelector('db'), {
        'mysql.cloudnative-mysql.io/cluster': 'db',
        'mysql.cloudnative-mysql.io/instance-role': 'replica',
      }),
    ).to.equal(true);
  });

  it('takes serviceAccount, imagePullSecrets, tolerations, backup resources and the image from the Cluster', () => {
    const job = render(
      cluster({
        imageName: 'ghcr.io/cloudnative-mysql/cloudnative-mysql-instance:10.11',
        serviceAccountName: 'backup-irsa',
        imagePullSecrets: [{ name: 'regcred' }],
        tolerations: [{ key: 'db', operator: 'Exists', effect: 'NoSchedule' }],
        backup: { resources: { limits: { memory: '512Mi' } } },
      }),
    );
    const spec = job.spec!.template.spec!;
    expect(spec.serviceAccountName).to.equal('backup-irsa');
    expect(spec.imagePullSecrets).to.deep.equal([{ name: 'regcred' }]);
    expect(spec.tolerations).to.deep.equal([{ key: 'db', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(spec.containers[0].resources).to.deep.equal({ limits: { memory: '512Mi' } });
    expect(spec.containers[0].image).to.equal('ghcr.io/cloudnative-mysql/cloudnative-mysql-instance:10.11');
    expect(render().spec!.template.spec!.containers[0].image, "no imageName: the operator's worker image").to.equal(
      'ghcr.io/silo-operator/silo:0.1.0',
    );
  });

  it("the instance image resolves to Silo's CLI on the process kubelet", () => {
    const resolved = resolveImage(
      'ghcr.io/cloudnative-mysql/cloudnative-mysql-instance:10.11',
      render().spec!.template.spec!.containers[0].command,
      undefined,
      '/silo-image/silo',
    );
    expect(resolved.ok).to.equal(true);
    expect((resolved as { run: { argv: string[] } }).run.argv).to.deep.equal([
      '/silo-image/silo',
      'backup',
      'physical',
      '--instance-manager',
      'https://127.1.0.9:8443',
    ]);
  });

  it('credentials and the client certificate only by Secret reference; no secret value anywhere', () => {
    const job = render(cluster({ certificates: { clientTLSSecret: 'db-backup-client', serverCASecret: 'db-ca' } }));
    const container = job.spec!.template.spec!.containers[0];
    const byName = Object.fromEntries(container.env!.map((e) => [e.name, e]));
    expect(byName.AWS_ACCESS_KEY_ID.valueFrom).to.deep.equal({ secretKeyRef: { name: 'minio', key: 'access' } });
    expect(byName.AWS_SECRET_ACCESS_KEY.valueFrom).to.deep.equal({ secretKeyRef: { name: 'minio', key: 'secret' } });
    expect(byName.AWS_ACCESS_KEY_ID.value).to.equal(undefined);
    const volumes = Object.fromEntries(job.spec!.template.spec!.volumes!.map((v) => [v.name, v.secret?.secretName]));
    expect(volumes).to.include({ 'client-tls': 'db-backup-client', 'server-ca': 'db-ca' });
    expect(byName.SILO_TLS_SERVER_NAME.value).to.equal('db-instance-manager');
    expect(container.command).to.deep.equal(['silo', 'backup', 'physical', '--instance-manager', 'https://127.1.0.9:8443']);
    expect(byName.SILO_DATA_KEY.value).to.equal(plan.dataKey);
    expect(byName.SILO_SOURCE_INSTANCE.value).to.equal('db-2');
  });

  it('default PKI Secret names when the Cluster names none', () => {
    const volumes = Object.fromEntries(render().spec!.template.spec!.volumes!.map((v) => [v.name, v.secret?.secretName]));
    expect(volumes).to.include({ 'client-tls': 'db-client-tls', 'server-ca': 'db-server-ca' });
  });

  it('compression, age recipients and the endpoint CA come from the store', () => {
    const recipient = 'age1' + 'q'.repeat(58);
    const b = backup('nightly', {
      objectStore: {
        ...store,
        compression: { algorithm: 'gzip', level: 3 },
        encryption: { age: { recipients: [recipient] } },
        endpointCA: { name: 'ca', key: 'ca.pem' },
      },
    });
    const job = render(cluster(), b);
    const env = Object.fromEntries(job.spec!.template.spec!.containers[0].env!.map((e) => [e.name, e.value]));
    expect(env).to.include({
      SILO_COMPRESSION: 'gzip',
      SILO_COMPRESSION_LEVEL: '3',
      SILO_AGE_RECIPIENTS: recipient,
      SILO_S3_CA_FILE: '/var/run/silo/store-ca/ca.crt',
      SILO_S3_FORCE_PATH_STYLE: 'true',
    });
  });

  it('Job names fit in 63 characters and end with the backup ID', () => {
    const name = jobNameFor('x'.repeat(253), '20261122T050000Z');
    expect(name.length).to.be.at.most(63);
    expect(name).to.match(/^x+-20261122t050000z$/);
    expect(jobNameFor('a-'.repeat(30), '20261122T050000Z')).to.match(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });
});
