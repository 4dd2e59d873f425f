import { expect } from 'chai';
import type { BackupResource, ClusterSpec } from '../../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import { isFailure, type Failure } from '../../../../../runtime/controller/mysql/cluster/cluster-reasons.js';
import {
  checkDecryptionKey,
  recoverySourceEntry,
  resolveFromBackup,
  validateRecoverySpec,
  type ResolvedRecovery,
} from '../../../../../runtime/controller/mysql/cluster/recovery-resolve.js';
import {
  ANNOTATION_DELETE_REMOTE,
  ANNOTATION_EXPIRED,
  ANNOTATION_REMOTE_STORE,
} from '../../../../../runtime/controller/mysql/retention/remote-deletion.js';
import { backupObject, id, objectStore, type BackupObjectOptions } from './recovery-fixtures.js';

const store = objectStore();
const now = new Date('2026-03-01T12:00:00Z');

function resolved(result: ResolvedRecovery | Failure): ResolvedRecovery {
  if (isFailure(result)) throw new Error(`expected a resolution, got ${result.reason}: ${result.message}`);
  return result;
}
function refused(result: ResolvedRecovery | Failure): Failure {
  if (!isFailure(result)) throw new Error(`expected a failure, got backup ${result.backupID}`);
  return result;
}

const make = (o: Partial<BackupObjectOptions> & { name: string }): BackupResource => backupObject({ store, ...o });
const resolve = (backup: BackupResource | undefined, all: BackupResource[] = backup ? [backup] : [], clusterStore = store) =>
  resolveFromBackup(backup, all, { backupName: 'wanted', clusterStore, now });

describe('recovery from a Backup object (resolveFromBackup)', () => {
  it('resolves a completed full Backup to its keys, checksum and store, from its status', () => {
    const b = make({ name: 'nightly', backupId: id(4) });
    const r = resolved(resolve(b));
    expect(r.source).to.deep.equal({ kind: 'backup', backupName: 'nightly' });
    expect(r.backupID).to.equal(id(4));
    expect(r.sourceCluster).to.equal('db');
    expect(r.sourcePrefix).to.equal('production/db/');
    expect(r.objectStore).to.deep.equal(store);
    expect(r.objectStoreFrom).to.equal("Cluster db's spec.backup.objectStore");
    expect(r.linksFrom).to.equal('backupStatus');
    expect(r.skipped).to.deep.equal([]);
    expect(r.resolvedAt).to.equal(now.toISOString());
    expect(r.chain).to.deep.equal([
      {
        backupId: id(4),
        type: 'full',
        metadataKey: `production/db/nightly/${id(4)}/metadata.json`,
        dataKey: `production/db/nightly/${id(4)}/backup.xbstream`,
        sha256: b.status!.sha256,
        sizeBytes: b.status!.sizeBytes,
        compression: 'zstd',
        encrypted: false,
        endGTID: b.status!.endGTID,
        endBinlog: b.status!.endBinlog,
        stoppedAt: b.status!.stoppedAt,
      },
    ]);
  });

  it("takes the codec from the store the Backup was written to: its own spec.objectStore before its Cluster's", () => {
    const own = objectStore({
      path: 'elsewhere',
      compression: { algorithm: 'gzip' },
      encryption: { age: { recipients: ['age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p'] } },
    });
    const b = backupObject({ name: 'own', store: own, ownStore: true });
    const r = resolved(resolve(b));
    expect(r.objectStore).to.deep.equal(own);
    expect(r.objectStoreFrom).to.equal("Backup own's spec.objectStore");
    expect(r.sourcePrefix).to.equal('elsewhere/db/');
    expect(r.chain[0]).to.include({ compression: 'gzip', encrypted: true });
  });

  it('uses the store recorded with the remote-data finalizer when the Cluster is gone', () => {
    const b = make({ name: 'kept', annotations: { [ANNOTATION_REMOTE_STORE]: JSON.stringify(store) } });
    const r = resolved(resolveFromBackup(b, [b], { backupName: 'kept', now }));
    expect(r.objectStoreFrom).to.equal("Backup kept's recorded object store");
  });

  it('refuses a Backup whose store cannot be told: none known, or none pointing at its destinationPath', () => {
    const b = make({ name: 'lost' });
    const none = refused(resolveFromBackup(b, [b], { backupName: 'lost', now }));
    expect(none.reason).to.equal('BackupLocationUnknown');
    expect(none.message).to.contain(`its data is at s3://backups/production/db/lost/${id(0)}/, but it has no spec.objectStore`);
    expect(none.message).to.contain('bootstrap.recovery.source');

    const moved = refused(resolve(b, [b], objectStore({ path: 'moved' })));
    expect(moved.reason).to.equal('BackupLocationUnknown');
    expect(moved.message).to.contain('where none of Cluster db\'s spec.backup.objectStore (bucket backups, path "moved") points');

    const noDestination = refused(resolve(make({ name: 'odd', statusExtra: { destinationPath: undefined } })));
    expect(noDestination.reason).to.equal('BackupLocationUnknown');
    expect(noDestination.message).to.contain('its status has no destinationPath');
  });

  describe('refuses a Backup that is not completed and kept', () => {
    it('BackupNotFound when the name names nothing', () => {
      const f = refused(resolve(undefined));
      expect(f.reason).to.equal('BackupNotFound');
      expect(f.message).to.contain('Backup wanted (spec.bootstrap.recovery.backup.name) does not exist in the namespace');
    });
    for (const phase of ['pending', 'running', 'none'] as const) {
      it(`BackupNotCompleted while ${phase}`, () => {
        const f = refused(resolve(make({ name: 'young', phase })));
        expect(f.reason).to.equal('BackupNotCompleted');
        expect(f.message).to.contain(`Backup young is ${phase === 'none' ? 'pending' : phase}, not completed`);
        expect(f.message).to.contain('wait: recovery starts when it completes');
      });
    }
    it('BackupFailed with its reason and error', () => {
      const f = refused(resolve(make({ name: 'bad', phase: 'failed' })));
      expect(f.reason).to.equal('BackupFailed');
      expect(f.message).to.contain('Backup bad failed (XtraBackupFailed: mariabackup exited with status 1)');
    });
    it('BackupExpired when retention marked it', () => {
      const f = refused(resolve(make({ name: 'old', annotations: { [ANNOTATION_EXPIRED]: '2026-02-01T00:00:00Z' } })));
      expect(f.reason).to.equal('BackupExpired');
      expect(f.message).to.contain(`expired by retention at 2026-02-01T00:00:00Z (${ANNOTATION_EXPIRED})`);
    });
    it('BackupExpired when it is being deleted with its objects', () => {
      const f = refused(resolve(make({ name: 'gone', deleting: true, annotations: { [ANNOTATION_DELETE_REMOTE]: 'true' } })));
      expect(f.reason).to.equal('BackupExpired');
      expect(f.message).to.contain('is being deleted together with its objects');
    });
    it('BackupExpired when it is being deleted but its objects stay, pointing at the object-store path', () => {
      const f = refused(resolve(make({ name: 'going', deleting: true })));
      expect(f.reason).to.equal('BackupExpired');
      expect(f.message).to.contain('its objects stay in the store; recover from them with bootstrap.recovery.source');
    });
  });

  describe('chains', () => {
    const full = make({ name: 'sunday', backupId: id(1) });
    const monday = make({ name: 'monday', backupId: id(2), type: 'incremental', parent: id(1) });
    const tuesday = make({ name: 'tuesday', backupId: id(3), type: 'incremental', parent: id(2) });

    it('follows parentBackupId back to the full backup, oldest first', () => {
      const r = resolved(resolve(tuesday, [tuesday, full, monday]));
      expect(r.backupID).to.equal(id(3));
      expect(r.chain.map((l) => [l.backupId, l.type, l.parentBackupId ?? null])).to.deep.equal([
        [id(1), 'full', null],
        [id(2), 'incremental', id(1)],
        [id(3), 'incremental', id(2)],
      ]);
      expect(r.chain.map((l) => l.dataKey)).to.deep.equal([
        `production/db/sunday/${id(1)}/backup.xbstream`,
        `production/db/monday/${id(2)}/backup.xbstream`,
        `production/db/tuesday/${id(3)}/backup.xbstream`,
      ]);
    });

    it('a differential needs only its full backup', () => {
      const diff = make({ name: 'diff', backupId: id(5), type: 'differential', parent: id(1) });
      const r = resolved(resolve(diff, [full, monday, diff]));
      expect(r.chain.map((l) => l.backupId)).to.deep.equal([id(1), id(5)]);
    });

    const broken: Array<[string, BackupResource[], string]> = [
      ['the parent is missing', [tuesday, full], `needs parent backup ${id(2)}, and no Backup of Cluster db in the namespace has that ID`],
      [
        'the parent belongs to another Cluster',
        [tuesday, full, make({ name: 'monday', cluster: 'other', backupId: id(2), type: 'incremental', parent: id(1) })],
        'no Backup of Cluster db',
      ],
      [
        'the parent failed',
        [tuesday, full, make({ name: 'monday', backupId: id(2), type: 'incremental', parent: id(1), phase: 'failed' })],
        `needs parent backup ${id(2)}: Backup monday failed`,
      ],
      [
        'the parent is running',
        [tuesday, full, make({ name: 'monday', backupId: id(2), type: 'incremental', parent: id(1), phase: 'running' })],
        'Backup monday is running, not completed',
      ],
      [
        'the grandparent is expired',
        [tuesday, monday, make({ name: 'sunday', backupId: id(1), annotations: { [ANNOTATION_EXPIRED]: '2026-02-01T00:00:00Z' } })],
        `Backup tuesday (${id(3)}) needs parent backup ${id(1)}: Backup sunday was expired by retention`,
      ],
      [
        'the parent lives in another store',
        [tuesday, full, backupObject({ name: 'monday', store: objectStore({ path: 'moved' }), backupId: id(2), type: 'incremental' })],
        `needs parent backup ${id(2)} (Backup monday), but its data is at s3://backups/moved/db/monday/`,
      ],
      [
        'an incremental records no parent',
        [make({ name: 'tuesday', backupId: id(3), type: 'incremental' })],
        `needs the parent of incremental backup ${id(3)}, which its status does not record`,
      ],
      [
        'the parent links loop',
        [
          make({ name: 'tuesday', backupId: id(3), type: 'incremental', parent: id(2) }),
          make({ name: 'monday', backupId: id(2), type: 'incremental', parent: id(3) }),
        ],
        `has parent links that loop at ${id(3)}`,
      ],
    ];
    for (const [name, all, text] of broken) {
      it(`BackupChainIncomplete when ${name}`, () => {
        const f = refused(resolve(all[0], all));
        expect(f.reason).to.equal('BackupChainIncomplete');
        expect(f.message).to.contain(text);
        expect(f.message).to.contain('pick another backup whose chain back to its full backup is complete');
      });
    }
  });
});

describe('the recovery spec alone (validateRecoverySpec)', () => {
  const spec = (recovery: NonNullable<ClusterSpec['bootstrap']>['recovery'], extra: Partial<ClusterSpec> = {}): ClusterSpec => ({
    storage: { size: '1Gi' },
    bootstrap: { recovery },
    externalClusters: [{ name: 'prod', objectStore: store }, { name: 'bare' }],
    ...extra,
  });

  it('accepts no recovery, a Backup, or a source with an object store', () => {
    expect(validateRecoverySpec({ storage: { size: '1Gi' } })).to.equal(undefined);
    expect(validateRecoverySpec(spec({ backup: { name: 'nightly' } }))).to.equal(undefined);
    expect(validateRecoverySpec(spec({ source: 'prod', backupID: id(1) }))).to.equal(undefined);
  });

  const cases: Array<[string, ClusterSpec, string, string]> = [
    ['both backup and source', spec({ backup: { name: 'n' }, source: 'prod' }), 'RecoverySpecInvalid', 'sets both backup and source'],
    ['neither', spec({}), 'RecoverySpecInvalid', 'sets neither backup nor source'],
    [
      'backupID without source',
      spec({ backup: { name: 'n' }, backupID: id(1) }),
      'RecoverySpecInvalid',
      'spec.bootstrap.recovery.backupID is set without spec.bootstrap.recovery.source; set source or remove backupID',
    ],
    [
      'a source naming no entry',
      spec({ source: 'prd' }),
      'RecoverySourceNotFound',
      'spec.bootstrap.recovery.source is prd, but spec.externalClusters has only prod, bare',
    ],
    [
      'a source with no entries at all',
      spec({ source: 'prod' }, { externalClusters: undefined }),
      'RecoverySourceNotFound',
      'spec.externalClusters is empty',
    ],
    [
      'an entry without objectStore',
      spec({ source: 'bare' }),
      'RecoverySourceHasNoObjectStore',
      'spec.externalClusters entry bare (spec.bootstrap.recovery.source) has no objectStore',
    ],
    [
      'a recovery target',
      spec({ source: 'prod', recoveryTarget: { targetGTID: 'uuid:1-99' } }),
      'RecoveryTargetUnsupported',
      'spec.bootstrap.recovery.recoveryTarget (targetGTID uuid:1-99) asks for point-in-time recovery',
    ],
    [
      'a recovery target by time',
      spec({ backup: { name: 'n' }, recoveryTarget: { targetTime: '2026-01-01T00:00:00Z' } }),
      'RecoveryTargetUnsupported',
      "Silo does not archive binlogs yet; remove spec.bootstrap.recovery.recoveryTarget to recover to the backup's consistent point",
    ],
  ];
  for (const [name, s, reason, text] of cases) {
    it(`${name} → ${reason}`, () => {
      const f = validateRecoverySpec(s)!;
      expect(f.reason).to.equal(reason);
      expect(f.message).to.contain(text);
    });
  }

  it('recoverySourceEntry returns the entry to resolve from', () => {
    expect(recoverySourceEntry(spec({ source: 'prod' }), 'prod')).to.deep.equal({ name: 'prod', objectStore: store });
  });
});

describe('the age identity (checkDecryptionKey)', () => {
  const link = (backupId: string, encrypted: boolean) => ({
    backupId,
    type: 'full' as const,
    metadataKey: 'm',
    dataKey: 'd',
    sha256: 'a'.repeat(64),
    compression: 'zstd' as const,
    encrypted,
  });
  const age = { recipients: ['age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p'] };

  it('needs an identity only for an encrypted chain', () => {
    const from = 'spec.externalClusters entry prod';
    expect(checkDecryptionKey({ chain: [link(id(1), false)], objectStore: store, objectStoreFrom: from })).to.equal(undefined);
    const f = checkDecryptionKey({
      chain: [link(id(1), true), link(id(2), true)],
      objectStore: objectStore({ encryption: { age } }),
      objectStoreFrom: from,
    })!;
    expect(f.reason).to.equal('DecryptionFailed');
    expect(f.message).to.contain(`backup ${id(1)}, ${id(2)} are age-encrypted and ${from} has no encryption.age.identitySecretRef`);
    const withIdentity = objectStore({ encryption: { age: { ...age, identitySecretRef: { name: 'age', key: 'identity' } } } });
    expect(checkDecryptionKey({ chain: [link(id(1), true)], objectStore: withIdentity, objectStoreFrom: from })).to.equal(undefined);
    expect(checkDecryptionKey({ chain: [link(id(1), true)], objectStore: store, objectStoreFrom: from }, { name: 'k', key: 'v' })).to.equal(
      undefined,
    );
  });
});
