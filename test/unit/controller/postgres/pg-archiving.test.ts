/**
 * How a PGCluster pass judges ContinuousArchiving (decision 0283), the instances' archive-push-queue-max,
 * and how the repo host agent names a repository info could not read. Pure.
 */
import { expect } from 'chai';
import { archiverFailing, archivingVerdict } from '../../../../runtime/controller/postgres/cluster/pg-archiving.js';
import { archivePushQueueMax, instanceConfig } from '../../../../runtime/controller/postgres/cluster/pgbackrest-config.js';
import { repoFailuresOf } from '../../../../runtime/pg/repo-failures.js';
import type { PGClusterSpec } from '../../../../src/api/postgres.silo.io/types.js';

const ok = { failedCount: 0, lastArchivedWal: '000000010000000000000005', lastArchivedAt: '2026-12-05T03:00:00.000Z' };
const failing = { ...ok, failedCount: 3, lastFailedWal: '000000010000000000000006', lastFailedAt: '2026-12-05T03:01:00.000Z' };
const storeDown = [
  { repo: 1, reason: 'StorageUnreachable' as const, message: "repo1: [HostConnectError] unable to connect to 'localhost:19094'" },
];

describe('ContinuousArchiving verdict', () => {
  it('a repository info could not read: False at once with its cause, no check (it would wait for the store)', () =>
    expect(archivingVerdict({ repoFailures: storeDown, archiver: failing, archiving: true, fresh: true })).to.deep.equal({
      kind: 'failing',
      reason: 'StorageUnreachable',
      detail: "repo1: [HostConnectError] unable to connect to 'localhost:19094'",
    }));

  it('the archiver failing now: check at once, even with a fresh proof', () =>
    expect(archivingVerdict({ archiver: failing, archiving: true, fresh: true })).to.deep.equal({
      kind: 'check',
      why: 'archiver-failing',
    }));

  it('archiving True and proven recently: nothing to run', () =>
    expect(archivingVerdict({ archiver: ok, archiving: true, fresh: true })).to.deep.equal({ kind: 'proven' }));

  it('not known True, or proven too long ago: check', () => {
    expect(archivingVerdict({ archiver: ok, archiving: false, fresh: true })).to.deep.equal({ kind: 'check', why: 'unproven' });
    expect(archivingVerdict({ archiving: true, fresh: false })).to.deep.equal({ kind: 'check', why: 'due' });
  });

  it('the archiver fails when its last failure is newer than its last success', () => {
    expect(archiverFailing(failing)).to.equal(true);
    expect(archiverFailing({ ...failing, lastArchivedAt: '2026-12-05T03:02:00.000Z' })).to.equal(false);
    expect(archiverFailing({ failedCount: 1, lastFailedWal: 'x', lastFailedAt: '2026-12-05T03:01:00.000Z' })).to.equal(true);
    expect(archiverFailing(ok)).to.equal(false);
    expect(archiverFailing(undefined)).to.equal(false);
  });
});

describe('archive-push-queue-max of the instances', () => {
  it('half the instance volume, in MiB', () => {
    expect(archivePushQueueMax('1Gi')).to.equal('512MB');
    expect(archivePushQueueMax('100Gi')).to.equal('51200MB');
    expect(archivePushQueueMax('10G')).to.equal('4768MB');
  });
  it('none for a volume too small to hold a useful queue', () => expect(archivePushQueueMax('100Mi')).to.equal(undefined));

  const spec = (global?: Record<string, string>): PGClusterSpec => ({
    storage: { size: '20Gi' },
    backups: { pgbackrest: { ...(global ? { global } : {}), repos: [{ name: 'repo1', volume: { volumeClaimSpec: { size: '1Gi' } } }] } },
  });
  const input = (s: PGClusterSpec) => ({ cluster: 'c', namespace: 'ns', spec: s, primaryHost: 'p', repoHostHost: 'r' });
  it("in the instance's pgbackrest.conf, unless global sets it", () => {
    expect(instanceConfig(input(spec()))).to.match(/^archive-push-queue-max=10240MB$/m);
    expect(instanceConfig(input(spec({ 'archive-push-queue-max': '2GB' })))).to.match(/^archive-push-queue-max=2GB$/m);
    expect(instanceConfig(input(spec({ 'archive-push-queue-max': '2GB' })))).to.not.match(/10240MB/);
  });
});

describe('repositories the repo host could not read (agent status)', () => {
  const info = (status: { code: number; message: string }) => [
    {
      name: 'db',
      repo: [
        { key: 1, status: { code: 0, message: 'ok' } },
        { key: 2, status },
      ],
    },
  ];
  it("a store that refuses connections is StorageUnreachable, not the repo host's", () =>
    expect(
      repoFailuresOf(info({ code: 99, message: "[HostConnectError] unable to connect to 'localhost:19094': [111] Connection refused" })),
    ).to.deep.equal([
      {
        repo: 2,
        reason: 'StorageUnreachable',
        message: "repo2: [HostConnectError] unable to connect to 'localhost:19094': [111] Connection refused",
      },
    ]));
  it('refused credentials keep their own reason', () =>
    expect(
      repoFailuresOf(info({ code: 99, message: '[ProtocolError] HTTP request failed with 403 (Forbidden): InvalidAccessKeyId' }))[0].reason,
    ).to.equal('StorageAuthFailed'));
  it('readable repositories (ok, no backups yet) are no failure', () => {
    expect(repoFailuresOf(info({ code: 2, message: 'no valid backups' }))).to.deep.equal([]);
    expect(repoFailuresOf([])).to.deep.equal([]);
    expect(repoFailuresOf(undefined)).to.deep.equal([]);
  });
});
