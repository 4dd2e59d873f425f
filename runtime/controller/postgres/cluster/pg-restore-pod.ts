/**
 * The restoring side of a cluster made from spec.dataSource, as pure builders (decision 0290): the
 * restore's pgbackrest.conf, which reaches the SOURCE's repository only through the source's repo
 * host (its TLS server admits the instance CN; the client certificate comes from the source's CA), and
 * the primary Pod's `restore` init container, which fills PGDATA with `pgbackrest restore`, replays to
 * the target with archiving off and promotes before the database container starts with the cluster's
 * own repositories. The Secret volume and the passphrase are optional: once the restore is done the
 * operator deletes the restore certificate and the Pod, unchanged, still starts (its init container
 * only reads the done state on the volume).
 */
import type { V1Container, V1EnvVar, V1Pod } from '@kubernetes/client-node';
import type { PGBackRestRepo } from '../../../../src/api/postgres.silo.io/types.js';
import {
  PG_PORT,
  PG_RUN_DIR,
  PG_SOCKET_DIR,
  PG_STANZA,
  PG_SUPERUSER_MOUNT,
  PGBACKREST_SERVER_PORT,
  PGDATA,
} from '../../../contracts/pg-pods.js';
import { PG_RESTORE_TLS_COPY, PG_RESTORE_TLS_MOUNT, PG_RESTORE_VAR, type PgRestorePlan } from '../../../contracts/pg-restore.js';
import { repoIndex } from '../shared/pg-objects.js';
import { withHash } from './pg-pods.js';
import { repoOptions, securePlaceholders } from './pgbackrest-config.js';

export const RESTORE_CONTAINER = 'restore';

export interface RestoreSource {
  readonly namespace: string;
  readonly cluster: string;
  readonly repo: PGBackRestRepo;
  /** The source repo host's DNS name (its certificate holds it). */
  readonly repoHostHost: string;
}

/** pgbackrest.conf for the restore and its archive-get: one repository, the source's, through the source's repo host. */
export function restoreConfig(source: RestoreSource): string {
  const n = repoIndex(source.repo);
  const global: Record<string, string | undefined> = {
    'log-level-file': 'off',
    'log-level-console': 'info',
    'lock-path': `${PG_RUN_DIR}/lock`,
    [`repo${n}-host`]: source.repoHostHost,
    [`repo${n}-host-type`]: 'tls',
    [`repo${n}-host-port`]: String(PGBACKREST_SERVER_PORT),
    [`repo${n}-host-ca-file`]: PG_RESTORE_TLS_COPY.ca,
    [`repo${n}-host-cert-file`]: PG_RESTORE_TLS_COPY.cert,
    [`repo${n}-host-key-file`]: PG_RESTORE_TLS_COPY.key,
    // The client names the storage the source's repo host opens with its own credentials (decision 0270).
    ...repoOptions(source.repo, source.namespace, source.cluster),
    ...securePlaceholders(source.repo),
    ...(source.repo.encryption ? { [`repo${n}-cipher-type`]: source.repo.encryption.cipherType ?? 'aes-256-cbc' } : {}),
  };
  const section = (name: string, options: Record<string, string | undefined>) =>
    `[${name}]\n${Object.entries(options)
      .filter(([, v]) => v !== undefined && v !== '')
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n`;
  return [
    section('global', global),
    section(PG_STANZA, { 'pg1-path': PGDATA, 'pg1-port': String(PG_PORT), 'pg1-socket-path': PG_SOCKET_DIR }),
  ].join('\n');
}

export interface RestoreInit {
  readonly plan: PgRestorePlan;
  /** The Secret with the restore's client certificate (from the source's CA). */
  readonly tlsSecret: string;
  /** The source repository's passphrase, when it is encrypted (a Secret of this namespace). */
  readonly cipherPass?: { name: string; key: string };
}

/** The primary Pod with the `restore` init container before its database container. */
export function withRestoreInit(pod: V1Pod, init: RestoreInit): V1Pod {
  const database = pod.spec!.containers[0];
  const env: V1EnvVar[] = [
    { name: PG_RESTORE_VAR.plan, value: JSON.stringify(init.plan) },
    ...(init.cipherPass
      ? [
          {
            name: `PGBACKREST_REPO${init.plan.repo}_CIPHER_PASS`,
            valueFrom: { secretKeyRef: { name: init.cipherPass.name, key: init.cipherPass.key, optional: true } },
          },
        ]
      : []),
  ];
  const container: V1Container = {
    name: RESTORE_CONTAINER,
    image: database.image,
    command: ['silo', 'pg', 'restore'],
    env,
    ...(database.resources ? { resources: database.resources } : {}),
    terminationMessagePolicy: 'FallbackToLogsOnError',
    volumeMounts: [
      ...(database.volumeMounts ?? []).filter((m) => m.name === 'data' || m.name === 'run' || m.mountPath === PG_SUPERUSER_MOUNT),
      { name: 'pgbackrest-restore-tls', mountPath: PG_RESTORE_TLS_MOUNT, readOnly: true },
    ],
  };
  return withHash({
    ...pod,
    metadata: { ...pod.metadata, annotations: { ...pod.metadata?.annotations } },
    spec: {
      ...pod.spec!,
      initContainers: [...(pod.spec!.initContainers ?? []), container],
      volumes: [
        ...(pod.spec!.volumes ?? []),
        {
          name: 'pgbackrest-restore-tls',
          secret: {
            secretName: init.tlsSecret,
            optional: true,
            items: ['tls.crt', 'tls.key', 'ca.crt'].map((key) => ({ key, path: key })),
          },
        },
      ],
    },
  });
}
