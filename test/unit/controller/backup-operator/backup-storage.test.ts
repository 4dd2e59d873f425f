import { expect } from 'chai';
import {
  checkCredentialKeys,
  credentialEnv,
  storageEnv,
} from '../../../../runtime/controller/backup-operator/shared/storage-credentials.js';
import { setCondition } from '../../../../runtime/controller/kube/conditions.js';
import { boundedName } from '../../../../runtime/controller/kube/names.js';
import { withFinalizer } from '../../../../runtime/controller/kube/finalizers.js';
import {
  deletionBlockedMessage,
  runsUsingStorage,
} from '../../../../runtime/controller/backup-operator/backup-storage/backup-storage-finalizer.js';
import { probeStorage } from '../../../../runtime/controller/backup-operator/backup-storage/backup-storage-probe.js';
import { storageStatus } from '../../../../runtime/controller/backup-operator/backup-storage/backup-storage-status.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('BackupStorage credentials, conditions and deletion protection', () => {
  it('accepts either S3 key spelling and names missing keys without values', () => {
    expect(checkCredentialKeys('s3', { accessKeyId: b64('AKIA'), secretAccessKey: b64('s3cr3t') }, 'ns/s').ok).to.equal(true);
    expect(checkCredentialKeys('s3', { AWS_ACCESS_KEY_ID: b64('AKIA'), AWS_SECRET_ACCESS_KEY: b64('s3cr3t') }, 'ns/s').ok).to.equal(true);
    const bad = checkCredentialKeys('s3', { accessKeyId: b64('AKIA-VALUE'), password: b64('hunter2') }, 'minio/minio-credentials');
    expect(bad.ok).to.equal(false);
    const message = (bad as { message: string }).message;
    expect(message).to.include('minio/minio-credentials').and.include('"secretAccessKey"').and.include('"password"');
    expect(message).to.not.include('hunter2').and.not.include('AKIA-VALUE').and.not.include(b64('hunter2'));
    expect(checkCredentialKeys('gcs', {}, 'a/b').ok).to.equal(false);
    expect(checkCredentialKeys('azure', { connectionString: b64('x') }, 'a/b').ok).to.equal(true);
  });

  it('worker env: parameters as values, credentials only as secretKeyRef', () => {
    const check = checkCredentialKeys('s3', { accessKeyId: b64('a'), secretAccessKey: b64('b'), sessionToken: b64('c') }, 'x');
    if (!check.ok) throw new Error('expected ok');
    const env = credentialEnv(check.keys, 'copy', { accessKeyId: 'a', secretAccessKey: 'b', sessionToken: 'c' });
    expect(env.map((e) => [e.name, e.valueFrom?.secretKeyRef?.key])).to.deep.equal([
      ['AWS_ACCESS_KEY_ID', 'accessKeyId'],
      ['AWS_SECRET_ACCESS_KEY', 'secretAccessKey'],
      ['AWS_SESSION_TOKEN', 'sessionToken'],
    ]);
    expect(env.every((e) => e.value === undefined)).to.equal(true);
    const params = storageEnv({
      type: 's3',
      parameters: { bucket: 'backups', endpoint: 'http://minio:9000', insecure: 'true', s3ForcePathStyle: 'true' },
      credentials: { name: 'c', namespace: 'n' },
    });
    expect(Object.fromEntries(params.map((e) => [e.name, e.value]))).to.deep.equal({
      SILO_STORE_TYPE: 's3',
      SILO_S3_BUCKET: 'backups',
      SILO_S3_ENDPOINT: 'http://minio:9000',
      SILO_S3_FORCE_PATH_STYLE: 'true',
      SILO_S3_INSECURE: 'true',
    });
  });

  it('an unreachable endpoint is reported, not hung on, and the message carries no secret', async () => {
    const result = await probeStorage(
      {
        type: 's3',
        parameters: { bucket: 'b', endpoint: 'http://127.0.0.1:1', s3ForcePathStyle: 'true' },
        credentials: { name: 'c', namespace: 'n' },
      },
      { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'very-secret-value' },
    );
    expect(result.reason).to.equal('EndpointUnreachable');
    expect(result.message).to.not.include('very-secret-value').and.not.include('AKIAEXAMPLE');
  });

  it('conditions keep lastTransitionTime while the status holds', () => {
    const t1 = new Date('2026-11-22T00:00:00Z');
    const t2 = new Date('2026-11-22T01:00:00Z');
    const a = setCondition([], { type: 'Ready', status: 'False', reason: 'SecretNotFound', message: 'm' }, t1);
    const b = setCondition(a, { type: 'Ready', status: 'False', reason: 'BucketNotFound', message: 'm2' }, t2);
    expect(b[0]).to.include({ reason: 'BucketNotFound', lastTransitionTime: t1.toISOString() });
    expect(setCondition(b, { type: 'Ready', status: 'True', reason: 'Ready', message: 'ok' }, t2)[0].lastTransitionTime).to.equal(
      t2.toISOString(),
    );
    expect(storageStatus(undefined, { reason: 'AccessDenied', message: 'no' }, t1, 3)).to.deep.include({
      phase: 'NotReady',
      observedGeneration: 3,
    });
  });

  it('deletion protection names the runs that hold the storage', () => {
    const runs = [
      { metadata: { namespace: 'b', name: 'r2' }, spec: { storage: { name: 'minio' } } },
      { metadata: { namespace: 'a', name: 'r1' }, spec: { storage: { name: 'minio' } } },
      { metadata: { namespace: 'a', name: 'other' }, spec: { storage: { name: 'gcs' } } },
    ];
    const holders = runsUsingStorage(runs, 'minio');
    expect(holders).to.deep.equal(['a/r1', 'b/r2']);
    expect(deletionBlockedMessage('minio', holders)).to.match(/used by 2 BackupRun\(s\): a\/r1, b\/r2; delete those runs first/);
    expect(
      deletionBlockedMessage(
        'm',
        Array.from({ length: 7 }, (_, i) => `n/r${i}`),
      ),
    ).to.include('and 2 more');
    expect(withFinalizer(['x'], 'y', true)).to.deep.equal(['x', 'y']);
    expect(withFinalizer(['x', 'y'], 'y', true)).to.equal(undefined);
    expect(withFinalizer(['x', 'y'], 'y', false)).to.deep.equal(['x']);
    expect(boundedName('short', 'backup')).to.equal('short-backup');
  });
});
