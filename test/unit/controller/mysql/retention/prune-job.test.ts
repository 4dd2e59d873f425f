import { expect } from 'chai';
import type { Job, Pod } from '../../../../../runtime/controller/kube/client.js';
import { pruneJobName, pruneOutcome, renderPruneJob } from '../../../../../runtime/controller/mysql/retention/prune-job.js';
import { prefixOf, type BackupObject } from '../../../../../runtime/controller/mysql/retention/remote-deletion.js';
import { parsePrefixes } from '../../../../../runtime/workers/prune-worker.js';

const store = {
  bucket: 'backups',
  path: 'prod',
  endpoint: 'http://127.0.0.1:9000',
  forcePathStyle: true,
  credentials: { accessKeyId: { name: 'creds', key: 'id' }, secretAccessKey: { name: 'creds', key: 'secret' } },
};
const entries = [{ backupName: 'b1', prefix: 'prod/db/b1/20261122T000000Z/', why: 'expired' as const }];
const job = (type: string, message?: string): [Job, Pod[]] => [
  { status: { conditions: [{ type, status: 'True' }] } },
  message === undefined
    ? []
    : [
        {
          status: {
            containerStatuses: [
              { name: 'prune', image: '', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, message } } },
            ],
          },
        },
      ],
];

describe('prune Job', () => {
  it('mounts credentials only as secretKeyRef and lists the prefixes', () => {
    const rendered = renderPruneJob({ namespace: 'ns', cluster: 'db', store, entries, workerImage: 'ghcr.io/silo-operator/silo:0.1.0' });
    const container = rendered.spec!.template.spec!.containers[0];
    expect(container.command).to.deep.equal(['silo', 'prune']);
    const env = Object.fromEntries(container.env!.map((e) => [e.name, e.value ?? e.valueFrom]));
    expect(env.AWS_SECRET_ACCESS_KEY).to.deep.equal({ secretKeyRef: { name: 'creds', key: 'secret' } });
    expect(env.SILO_PRUNE_PREFIXES).to.equal('["prod/db/b1/20261122T000000Z/"]');
    expect(rendered.metadata!.labels).to.include({ 'mysql.cloudnative-mysql.io/prune': 'db', 'app.kubernetes.io/managed-by': 'silo' });
    expect(rendered.metadata!.labels).to.not.have.property('mysql.cloudnative-mysql.io/backup');
  });

  it('has a deterministic name of at most 63 characters', () => {
    expect(pruneJobName('db', entries)).to.equal(pruneJobName('db', [...entries]));
    expect(pruneJobName('x'.repeat(63), entries).length).to.be.at.most(63);
  });

  it('reads deleted indices from the result line, and nothing when there is none', () => {
    expect(pruneOutcome(...job('Complete', '{"outcome":"completed","deleted":[0,1],"failed":[],"objects":4}'))).to.deep.include({
      state: 'finished',
      succeeded: true,
    });
    const partial = pruneOutcome(
      ...job(
        'Failed',
        'log line\n{"outcome":"failed","reason":"auth","deleted":[1],"failed":[{"index":0,"error":"access denied"}],"objects":2}',
      ),
    );
    expect(partial).to.deep.include({ succeeded: false, error: 'access denied' });
    expect([...(partial as { deleted: ReadonlySet<number> }).deleted]).to.deep.equal([1]);
    const silent = pruneOutcome(...job('Complete', 'no json here'));
    expect(silent).to.deep.include({ succeeded: false });
    expect((silent as { deleted: ReadonlySet<number> }).deleted.size).to.equal(0);
    expect(pruneOutcome({ status: {} }, [])).to.deep.equal({ state: 'running' });
  });
});

describe('backup prefixes', () => {
  const backup = (status: object): BackupObject =>
    ({ metadata: { name: 'b1' }, spec: { cluster: { name: 'db' } }, status }) as BackupObject;

  it('come from status.destinationPath in the resolved bucket', () => {
    expect(
      prefixOf(backup({ backupId: '20261122T000000Z', destinationPath: 's3://backups/prod/db/b1/20261122T000000Z/' }), store, 'db'),
    ).to.deep.equal({ prefix: 'prod/db/b1/20261122T000000Z/' });
    expect(prefixOf(backup({ backupId: '20261122T000000Z' }), store, 'db')).to.deep.equal({ prefix: 'prod/db/b1/20261122T000000Z/' });
  });

  it('are refused for another bucket, a path without the backup ID, or no backup ID', () => {
    expect(prefixOf(backup({ backupId: 'X', destinationPath: 's3://other/prod/db/b1/X/' }), store, 'db'))
      .to.have.property('problem')
      .that.matches(/not in bucket backups/);
    expect(prefixOf(backup({ backupId: 'X', destinationPath: 's3://backups/prod/' }), store, 'db'))
      .to.have.property('problem')
      .that.matches(/does not end with its backup ID/);
    expect(prefixOf(backup({}), store, 'db'))
      .to.have.property('problem')
      .that.matches(/no status\.backupId/);
  });

  it('the worker refuses prefixes that could reach beyond one backup', () => {
    expect(parsePrefixes('["prod/db/b1/ID/"]')).to.deep.equal(['prod/db/b1/ID/']);
    expect(parsePrefixes('["db/b1/ID/"]')).to.deep.equal(['db/b1/ID/']);
    for (const bad of ['["prod/db/"]', '["db/b1/ID"]', '["/db/b1/ID/"]', '["db/../b1/ID/"]', '[]', 'nope', '[1]']) {
      expect(() => parsePrefixes(bad), bad).to.throw(/SILO_PRUNE_PREFIXES/);
    }
  });
});
