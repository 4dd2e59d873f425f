import { expect } from 'chai';
import type { PGClusterSpec } from '../../../../src/api/postgres.silo.io/types.js';
import type { Pod } from '../../../../runtime/controller/kube/client.js';
import { instancePod, primaryPod } from '../../../../runtime/controller/postgres/cluster/pg-pods.js';
import { instanceRows, MAX_SERVING_LAG_BYTES } from '../../../../runtime/controller/postgres/cluster/pg-instance-rows.js';
import { replicasReady } from '../../../../runtime/controller/postgres/cluster/pg-replicas.js';
import { pgClientServices } from '../../../../runtime/controller/postgres/cluster/pg-services.js';
import { pgStatusUnchangedRecently } from '../../../../runtime/controller/postgres/cluster/pg-status-refresh.js';
import { pgLeafIdentities } from '../../../../runtime/controller/postgres/cluster/pg-pki.js';
import { pgReplicationSlot } from '../../../../runtime/contracts/pg-pods.js';
import { hbaText, identText } from '../../../../runtime/pg/pg-access.js';
import { primaryConninfo, replicaRoleOf } from '../../../../runtime/pg/replica-join.js';
import { pgbackrestServerEnv } from '../../../../runtime/pg/pg-config-file.js';

const spec: PGClusterSpec = {
  instances: 3,
  storage: { size: '1Gi' },
  backups: {
    pgbackrest: {
      repos: [{ name: 'repo1', volume: { volumeClaimSpec: { size: '1Gi' } }, encryption: { passphrase: { name: 'cipher', key: 'pass' } } }],
    },
  },
};
const owner = { apiVersion: 'postgres.silo.io/v1alpha1', kind: 'PGCluster', name: 'shop', uid: 'u' };
const podInput = { cluster: 'shop', namespace: 'ns', spec, owner, pgbackrestConf: '[global]\n' };
const now = new Date('2026-12-05T00:00:00Z');

const pod = (name: string, ready = true): Pod =>
  ({
    metadata: { name },
    status: { podIP: '127.1.0.1', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  }) as Pod;

describe('PGCluster replicas', () => {
  it('a replica Pod names the primary and its slot, carries no passphrase, and keeps its own PVC; the primary is unchanged', () => {
    const replica = instancePod(podInput, 3);
    const env = replica.spec!.containers[0].env!;
    expect(env.map((e) => e.name)).to.include.members(['SILO_PG_PRIMARY_HOST', 'SILO_PG_REPLICATION_SLOT', 'SILO_PG_INSTANCE']);
    expect(env.find((e) => e.name === 'SILO_PG_PRIMARY_HOST')!.value).to.equal('shop-1.shop-instances.ns.svc');
    expect(env.find((e) => e.name === 'SILO_PG_REPLICATION_SLOT')!.value).to.equal('silo_shop_3');
    expect(JSON.stringify(replica.spec)).to.not.contain('CIPHER_PASS');
    expect(replica.spec!.volumes!.find((v) => v.name === 'data')!.persistentVolumeClaim!.claimName).to.equal('shop-3');
    expect(replica.metadata!.labels).to.include({ 'postgres.silo.io/role': 'replica', 'postgres.silo.io/instance': 'true' });
    const primary = primaryPod(podInput);
    expect(primary.metadata!.name).to.equal('shop-1');
    expect(JSON.stringify(primary.spec)).to.contain('PGBACKREST_REPO1_CIPHER_PASS').and.not.contain('SILO_PG_PRIMARY_HOST');
  });

  it('slot names keep to what PostgreSQL accepts', () => {
    expect(pgReplicationSlot('my-db-2')).to.equal('silo_my_db_2');
    expect(pgReplicationSlot(`${'a'.repeat(80)}-2`)).to.have.length(63);
  });

  it('the instance certificate names every possible instance and the client Services', () => {
    const dns = Object.values(pgLeafIdentities('shop', 'ns'))[0].dns!;
    expect(dns).to.include.members([
      'shop-1.shop-instances.ns.svc',
      'shop-9.shop-instances.ns.svc',
      'shop-ro.ns.svc',
      'shop-rw.ns.svc.cluster.local',
    ]);
  });

  it('-rw selects the primary, -ro serving replicas, -r every instance (never the repo host)', () => {
    const [rw, ro, r] = pgClientServices({ cluster: 'shop', namespace: 'ns', owner });
    expect(rw.spec!.selector).to.deep.equal({
      'postgres.silo.io/cluster': 'shop',
      'postgres.silo.io/instance': 'true',
      'postgres.silo.io/role': 'primary',
    });
    expect(ro.spec!.selector).to.include({ 'postgres.silo.io/role': 'replica', 'postgres.silo.io/serving': 'true' });
    expect(r.spec!.selector).to.deep.equal({ 'postgres.silo.io/cluster': 'shop', 'postgres.silo.io/instance': 'true' });
    expect(rw.spec!.ports![0].port).to.equal(5432);
  });

  it('replicas log in with the instance certificate over verified TLS, mapped to streaming_replica; nothing else may replicate', () => {
    expect(hbaText()).to.match(/^hostssl replication\s+streaming_replica\s+all\s+cert map=silo-replication$/m);
    expect(hbaText()).to.not.match(/^host\s+replication/m);
    expect(identText()).to.equal('silo-replication silo-pg-instance streaming_replica\n');
    const role = replicaRoleOf({
      SILO_PG_PRIMARY_HOST: 'shop-1.shop-instances.ns.svc',
      SILO_PG_REPLICATION_SLOT: 'silo_shop_2',
      SILO_PG_INSTANCE: 'shop-2',
    })!;
    expect(primaryConninfo(role))
      .to.contain('sslmode=verify-full')
      .and.contain('application_name=shop-2')
      .and.contain('user=streaming_replica');
    expect(replicaRoleOf({})).to.equal(undefined);
  });

  it("pgbackrest server's remotes lock, spool and log inside the Pod, not in /tmp/pgbackrest (decision 0277)", () => {
    const env = pgbackrestServerEnv({ PATH: '/bin' }, '/pgdata/pgbackrest-spool');
    expect(env).to.include({
      PATH: '/bin',
      PGBACKREST_LOCK_PATH: '/var/run/silo-pg/lock',
      PGBACKREST_SPOOL_PATH: '/pgdata/pgbackrest-spool',
      PGBACKREST_LOG_LEVEL_FILE: 'off',
    });
  });

  describe('instance rows', () => {
    const replication = {
      currentLsn: '0/5000000',
      slots: [],
      senders: [
        { applicationName: 'shop-2', state: 'streaming', replayLsn: '0/5000000', lagBytes: 0 },
        { applicationName: 'shop-3', state: 'catchup', replayLsn: '0/4000000', lagBytes: 16_777_216 },
      ],
    };

    it('the primary with its LSN; a streaming replica serves; one in catchup does not, with its reason', () => {
      const rows = instanceRows({ pods: [pod('shop-3'), pod('shop-1'), pod('shop-2')], primaryName: 'shop-1', replication, now });
      expect(rows.map((r) => [r.name, r.role, r.serving, r.reason])).to.deep.equal([
        ['shop-1', 'primary', true, undefined],
        ['shop-2', 'replica', true, undefined],
        ['shop-3', 'replica', false, 'ReplicaNotStreaming'],
      ]);
      expect(rows[0].lsn).to.equal('0/5000000');
      expect(rows[2]).to.include({ streaming: 'catchup', lagBytes: 16_777_216, lsn: '0/4000000' });
      expect(rows[2].message).to.match(/catchup/);
    });

    it('a replica far behind leaves -ro; one with no WAL sender, or a primary that cannot be read, says why', () => {
      const lagging = {
        ...replication,
        senders: [{ applicationName: 'shop-2', state: 'streaming', replayLsn: '0/1000000', lagBytes: MAX_SERVING_LAG_BYTES + 1 }],
      };
      const [, two] = instanceRows({ pods: [pod('shop-1'), pod('shop-2')], primaryName: 'shop-1', replication: lagging, now });
      expect(two).to.include({ serving: false, reason: 'ReplicaLagging' });
      // Streaming, but its first feedback has not arrived: replay_lsn is NULL and its lag unknown.
      const silent = { ...replication, senders: [{ applicationName: 'shop-2', state: 'streaming' }] };
      const [, early] = instanceRows({ pods: [pod('shop-1'), pod('shop-2')], primaryName: 'shop-1', replication: silent, now });
      expect(early).to.include({ serving: false, reason: 'ReplicaJoining', streaming: 'streaming' });
      expect(early.message).to.match(/replay position/);
      const [, none] = instanceRows({
        pods: [pod('shop-1'), pod('shop-2')],
        primaryName: 'shop-1',
        replication: { ...replication, senders: [] },
        now,
      });
      expect(none).to.include({ serving: false, reason: 'ReplicaNotStreaming', streaming: 'none' });
      const [, unknown] = instanceRows({ pods: [pod('shop-1'), pod('shop-2')], primaryName: 'shop-1', replicationError: 'timeout', now });
      expect(unknown).to.include({ serving: false, reason: 'PrimaryUnreadable' });
      const [, , gone] = instanceRows({
        pods: [pod('shop-1'), pod('shop-2')],
        primaryName: 'shop-1',
        replication,
        now,
        wanted: ['shop-1', 'shop-2', 'shop-3'],
      });
      expect(gone).to.include({ name: 'shop-3', role: 'replica', serving: false, reason: 'InstanceNotReady' });
      expect(gone.message).to.match(/no Pod/);
      const [, starting] = instanceRows({ pods: [pod('shop-1'), pod('shop-2', false)], primaryName: 'shop-1', replication, now });
      expect(starting).to.include({ serving: false, reason: 'InstanceNotReady' });
      // A replica on its way in keeps ReplicasReady at ReplicasJoining; one whose sender is gone makes it a failure.
      expect(replicasReady(2, [{ name: 'shop-1', role: 'primary', serving: true }, early], true)).to.include({
        ready: false,
        reason: 'ReplicasJoining',
      });
      expect(replicasReady(2, [{ name: 'shop-1', role: 'primary', serving: true }, none], true)).to.include({
        ready: false,
        reason: 'ReplicaNotStreaming',
      });
    });
  });

  it('the status is left alone when only observation times changed and the rows are fresh, written when due or changed', () => {
    const rows = (at: string, lag = 0) => [{ name: 'shop-2', role: 'replica' as const, serving: true, lagBytes: lag, observedAt: at }];
    const current = { phase: 'Ready', instancesStatus: rows('2026-12-05T00:00:00Z') };
    expect(
      pgStatusUnchangedRecently(
        current,
        { phase: 'Ready', instancesStatus: rows('2026-12-05T00:00:05Z') },
        new Date('2026-12-05T00:00:05Z'),
      ),
    ).to.equal(true);
    expect(
      pgStatusUnchangedRecently(
        current,
        { phase: 'Ready', instancesStatus: rows('2026-12-05T00:00:09Z') },
        new Date('2026-12-05T00:00:09Z'),
      ),
    ).to.equal(false);
    expect(
      pgStatusUnchangedRecently(
        current,
        { phase: 'Ready', instancesStatus: rows('2026-12-05T00:00:02Z', 8) },
        new Date('2026-12-05T00:00:02Z'),
      ),
    ).to.equal(false);
  });
});
