/**
 * Recovery from the bucket alone (dataSource.pgbackrest), end to end: the operator as a process, real
 * PostgreSQL 15 and pgBackRest 2.45 under the process kubelet, MinIO over TLS. A source cluster with
 * one encrypted MinIO repository writes data and archives it; then the source PGCluster and its whole
 * namespace are deleted. In a fresh namespace a repository of its own at the given path is refused before
 * any Pod, a wrong passphrase and a path without a stanza before any database Pod or PVC; a new PGCluster given only the bucket, path, credentials and
 * passphrase restores to the end of the archive with the same data, and nothing reaches the source's
 * archive.
 */
import { expect } from 'chai';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { KINDS } from '../../../../runtime/controller/kube/kinds.js';
import type { KubeObject } from '../../../../runtime/controller/reconciler.js';
import type { PGBackRestRepo, PGBackupStatus, PGClusterSpec } from '../../../../src/api/postgres.silo.io/types.js';
import { useStack } from '../../../stack/mocha.js';
import { waitFor } from '../../kube/fixture.js';
import { usePgFixture, type PGClusterObj } from './pg-fixture.js';

const stack = useStack('kube', 'kubelet', 'minio');

describe('PGCluster recovered from the bucket alone (dataSource.pgbackrest)', function () {
  this.timeout(1_200_000);
  const pg = usePgFixture(stack, 'pg-bucket', {
    passphrase: 'bucket test passphrase',
    extraNamespaces: (namespace) => [`${namespace}-new`],
  });
  const { fx, api, s3 } = pg;
  const fresh = `${fx.namespace}-new`;
  let sourcePath = '';
  let sourceDigest = '';
  let archiveBefore: string[] = [];
  const env = () => stack.env();
  // This file names the namespace first: the source's and the fresh one's clusters share names.
  const psql = (namespace: string, cluster: string, sql: string) => pg.psql(cluster, sql, namespace);
  const phase = (namespace: string, name: string, want: (c: PGClusterObj | undefined) => boolean, timeoutMs: number) =>
    pg.phase(name, want, timeoutMs, namespace);
  const getCluster = (namespace: string, name: string) => pg.getCluster(name, namespace);
  const minioRepo = (passphraseSecret = 'pgbackrest-cipher', path?: string): PGBackRestRepo =>
    pg.minioRepo('repo1', { passphraseSecret, path });
  const bucketSpec = (repo: PGBackRestRepo): PGClusterSpec => ({
    storage: { size: '1Gi' },
    dataSource: { pgbackrest: { repo } },
    backups: { pgbackrest: { initialBackup: false, repos: [{ name: 'repo1', volume: { volumeClaimSpec: { size: '1Gi' } } }] } },
  });

  async function archiveKeys(): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3().send(
        new ListObjectsV2Command({ Bucket: env().MINIO_BUCKET, Prefix: `${sourcePath.slice(1)}/archive/`, ContinuationToken: token }),
      );
      keys.push(...(page.Contents ?? []).map((o) => o.Key!));
      token = page.NextContinuationToken;
    } while (token);
    return keys.sort();
  }

  const DIGEST_SQL = "SELECT count(*) || ':' || md5(string_agg(id || note, ',' ORDER BY id)) FROM orders";

  before(async function () {
    await pg.secret(fresh, 'wrong-cipher', { passphrase: 'not the passphrase' });
  });

  it('the source: an encrypted MinIO repository, its initial backup, data written and archived', async () => {
    const spec: PGClusterSpec = { storage: { size: '1Gi' }, backups: { pgbackrest: { repos: [minioRepo()] } } };
    await api().create(KINDS.PGCluster, { metadata: { name: 'src', namespace: fx.namespace }, spec });
    await phase(fx.namespace, 'src', (c) => c?.status?.phase === 'Ready', 420_000);
    const initial = await waitFor(
      'the initial backup finished',
      async () => {
        const b = await api().get<KubeObject & { status?: PGBackupStatus }>(KINDS.PGBackup, {
          namespace: fx.namespace,
          name: 'src-initial',
        });
        return b?.status?.phase === 'completed' || b?.status?.phase === 'failed' ? b : undefined;
      },
      300_000,
    );
    expect(initial.status!.phase, initial.status!.message).to.equal('completed');
    sourcePath = (await getCluster(fx.namespace, 'src'))!.status!.repos![0].path!;
    expect(sourcePath).to.equal(`/silo/${fx.namespace}/src`);
    await psql(
      fx.namespace,
      'src',
      "CREATE TABLE orders (id int primary key, note text); INSERT INTO orders SELECT g, 'n' || g FROM generate_series(1, 500) g",
    );
    sourceDigest = await psql(fx.namespace, 'src', DIGEST_SQL);
    const archived = Number(await psql(fx.namespace, 'src', 'SELECT archived_count FROM pg_stat_archiver'));
    await psql(fx.namespace, 'src', 'SELECT pg_switch_wal()');
    await waitFor(
      'the data archived',
      async () => Number(await psql(fx.namespace, 'src', 'SELECT archived_count FROM pg_stat_archiver')) > archived,
      120_000,
    );
  });

  it('the source PGCluster and its whole namespace are deleted', async () => {
    await api().delete(KINDS.PGCluster, { namespace: fx.namespace, name: 'src' });
    // A short grace: the garbage collector's default (the primary's 60 s) would dominate this test's time.
    for (const pod of (await fx.core.listNamespacedPod({ namespace: fx.namespace })).items)
      await fx.core
        .deleteNamespacedPod({ namespace: fx.namespace, name: pod.metadata!.name!, gracePeriodSeconds: 5 })
        .catch(() => undefined);
    await fx.core.deleteNamespace({ name: fx.namespace });
    await waitFor(
      'the source namespace gone',
      async () => ((await fx.core.readNamespace({ name: fx.namespace }).catch(() => undefined)) ? undefined : true),
      240_000,
    );
    archiveBefore = await archiveKeys();
    expect(archiveBefore.some((k) => /\/00000001[0-9A-F]{16}-/.test(k))).to.equal(true);
  });

  it('admission: postgresCluster and pgbackrest together are refused, naming both', async () => {
    const spec = bucketSpec(minioRepo('pgbackrest-cipher', sourcePath));
    spec.dataSource!.postgresCluster = { clusterName: 'src', repoName: 'repo1' };
    const error = await api()
      .create(KINDS.PGCluster, { metadata: { name: 'both', namespace: fresh }, spec })
      .catch((e: Error) => e);
    expect(String((error as { body?: unknown })?.body ?? (error as Error)?.message)).to.match(
      /exactly one of postgresCluster .* or pgbackrest/,
    );
  });

  it("a repository of its own that is the given one (same bucket and path) is refused before any Pod: it would archive into the source's stanza", async () => {
    const spec = bucketSpec(minioRepo('pgbackrest-cipher', sourcePath));
    spec.backups.pgbackrest.repos = [minioRepo('pgbackrest-cipher', sourcePath)];
    await api().create(KINDS.PGCluster, { metadata: { name: 'sharer', namespace: fresh }, spec });
    const c = await phase(fresh, 'sharer', (got) => got?.status?.restore?.reason === 'RepositoryOfTheSource', 60_000);
    expect(c.status!.restore!.message).to.contain("this cluster's repo1 is the repository of spec.dataSource.pgbackrest");
    expect((await fx.core.listNamespacedPod({ namespace: fresh, labelSelector: 'postgres.silo.io/cluster=sharer' })).items).to.deep.equal(
      [],
    );
    await api().delete(KINDS.PGCluster, { namespace: fresh, name: 'sharer' });
  });

  it('a wrong passphrase and a path without a stanza are refused, each with its reason, before any database Pod or PVC', async () => {
    await api().create(KINDS.PGCluster, {
      metadata: { name: 'wrongpass', namespace: fresh },
      spec: bucketSpec(minioRepo('wrong-cipher', sourcePath)),
    });
    await api().create(KINDS.PGCluster, {
      metadata: { name: 'nostanza', namespace: fresh },
      spec: bucketSpec(minioRepo('pgbackrest-cipher', `/silo/${fx.namespace}/nosuch`)),
    });
    for (const [name, reason] of [
      ['wrongpass', 'CipherMismatch'],
      ['nostanza', 'SourceStanzaNotFound'],
    ]) {
      const c = await phase(fresh, name, (got) => got?.status?.restore?.reason === reason, 180_000);
      expect(c.status!.phase).to.equal('Failed');
      expect(c.status!.restore!.resolvedAt).to.equal(undefined);
      expect(c.status!.restore!.message).to.not.contain('bucket test passphrase').and.not.contain(env().MINIO_SECRET_KEY);
      const selector = `postgres.silo.io/cluster=${name}`;
      const pods = (await fx.core.listNamespacedPod({ namespace: fresh, labelSelector: selector })).items.map((p) => p.metadata!.name);
      // Only the restore source (the repo host's place) ran: no primary, no PVC.
      expect(pods).to.deep.equal([`${name}-repo-host`]);
      expect((await fx.core.listNamespacedPersistentVolumeClaim({ namespace: fresh, labelSelector: selector })).items).to.deep.equal([]);
      await api().delete(KINDS.PGCluster, { namespace: fresh, name });
    }
  });

  it('a new cluster in a fresh namespace restores from the bucket alone: the same data; the source archive gets nothing', async () => {
    await api().create(KINDS.PGCluster, {
      metadata: { name: 'copy', namespace: fresh },
      spec: bucketSpec(minioRepo('pgbackrest-cipher', sourcePath)),
    });
    const c = await phase(fresh, 'copy', (got) => !!got?.status?.restore?.readyAt && !!got.status.primary?.ready, 600_000);
    const r = c.status!.restore!;
    expect(r).to.include({ phase: 'Restored', stanza: 'db' });
    expect(r.source).to.include({ bucket: true, repoName: 'repo1', repoPath: sourcePath });
    expect(r.target).to.deep.include({ type: 'default' });
    expect(r.reachedTimeline).to.equal(2);
    expect(await psql(fresh, 'copy', DIGEST_SQL)).to.equal(sourceDigest);
    expect(await psql(fresh, 'copy', 'SELECT pg_is_in_recovery()')).to.equal('f');
    console.log(
      `      copy: restored ${r.backupLabel} from the bucket alone, reached ${r.reachedLsn} at ${r.reachedTime}, RTO ${r.rtoSeconds} s`,
    );
    // The repo host's place goes back to the cluster's own repo host; it archives into its own stanza.
    const ready = await phase(fresh, 'copy', (got) => got?.status?.phase === 'Ready', 300_000);
    expect(ready.status!.repos![0]).to.include({ name: 'repo1', stanzaCreated: true, path: `/silo/${fresh}/copy` });
    const secrets = (await fx.core.listNamespacedSecret({ namespace: fresh })).items.map((s) => s.metadata!.name);
    expect(secrets).to.not.include('copy-pgbackrest-restore-tls');
    const repoHost = await fx.core.readNamespacedPod({ namespace: fresh, name: 'copy-repo-host' });
    expect(JSON.stringify(repoHost.spec!.containers[0].env)).to.not.contain('minio-creds');
    expect(await archiveKeys()).to.deep.equal(archiveBefore);
    // The new timeline's history file went to this cluster's own archive and was marked done by postgres's archiver.
    await waitFor(
      'the history file archived and marked done',
      async () =>
        (await psql(fresh, 'copy', "SELECT count(*) FROM pg_ls_dir('pg_wal/archive_status') f WHERE f = '00000002.history.done'")) === '1',
      60_000,
    );
    expect(await psql(fresh, 'copy', "SELECT count(*) FROM pg_ls_dir('pg_wal/archive_status') f WHERE f LIKE '%.history.ready'")).to.equal(
      '0',
    );
  });
});
