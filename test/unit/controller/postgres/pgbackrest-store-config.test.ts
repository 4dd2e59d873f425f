import { expect } from 'chai';
import type { PGClusterSpec } from '../../../../src/api/postgres.silo.io/types.js';
import {
  instanceConfig,
  repoHostConfig,
  repoHostCredentialEnv,
} from '../../../../runtime/controller/postgres/cluster/pgbackrest-config.js';
import { repoHostPod } from '../../../../runtime/controller/postgres/cluster/pg-pods.js';

const repos: PGClusterSpec['backups']['pgbackrest']['repos'] = [
  {
    name: 'repo1',
    gcs: {
      bucket: 'g',
      endpoint: 'https://gcs.example:4443',
      caSecret: { name: 'ca', key: 'ca.crt' },
      uploadChunkSize: '64MiB',
      credentials: { token: { name: 'gcs', key: 'token' } },
    },
  },
  {
    name: 'repo2',
    azure: {
      container: 'c',
      endpoint: 'azurite.example:10000',
      uriStyle: 'path',
      caSecret: { name: 'ca', key: 'ca.crt' },
      credentials: { account: { name: 'az', key: 'account' }, key: { name: 'az', key: 'key' } },
    },
  },
  { name: 'repo3', gcs: { bucket: 'sa', credentials: { serviceAccountKey: { name: 'sa', key: 'key.json' } } } },
  { name: 'repo4', gcs: { bucket: 'auto' } },
];
const input = {
  cluster: 'shop',
  namespace: 'ns',
  spec: { storage: { size: '1Gi' }, backups: { pgbackrest: { repos } } },
  primaryHost: 'shop-1.shop-instances.ns.svc',
  repoHostHost: 'shop-repo-host.shop-repo.ns.svc',
};
const lines = (conf: string) => conf.split('\n');

describe('pgbackrest.conf for GCS and Azure repositories', () => {
  it('GCS: endpoint without scheme, key type from the credentials given, the CA and the chunk size', () => {
    const conf = lines(repoHostConfig(input));
    expect(conf).to.include.members([
      'repo1-type=gcs',
      'repo1-gcs-endpoint=gcs.example:4443',
      'repo1-gcs-key-type=token',
      'repo1-storage-ca-file=/etc/silo/repo-ca/repo1/ca.crt',
      'repo1-storage-upload-chunk-size=64MiB',
      'repo3-gcs-key-type=service',
      'repo3-gcs-key=/etc/silo/repo-gcs/repo3/key.json',
      'repo4-gcs-key-type=auto',
    ]);
    expect(conf.filter((l) => l.startsWith('repo1-gcs-key='))).to.deep.equal([]);
  });

  it('Azure: host and port apart, path-style, the CA', () => {
    expect(lines(repoHostConfig(input))).to.include.members([
      'repo2-type=azure',
      'repo2-azure-endpoint=azurite.example',
      'repo2-storage-port=10000',
      'repo2-azure-uri-style=path',
      'repo2-storage-ca-file=/etc/silo/repo-ca/repo2/ca.crt',
    ]);
  });

  it('the instance names the same key type, with placeholders for the secure options it never sends', () => {
    const conf = lines(instanceConfig(input));
    expect(conf).to.include.members([
      'repo1-gcs-key-type=token',
      'repo1-gcs-key=held-by-the-repo-host',
      'repo2-azure-key=held-by-the-repo-host',
    ]);
  });

  it('the repo host gets the token, the Azure keys and the Azure endpoint from its environment (remotes read no config file)', () => {
    const env = repoHostCredentialEnv(repos);
    expect(env.map((e) => e.name)).to.deep.equal([
      'PGBACKREST_REPO1_GCS_KEY',
      'PGBACKREST_REPO2_AZURE_ACCOUNT',
      'PGBACKREST_REPO2_AZURE_KEY',
      'PGBACKREST_REPO2_AZURE_ENDPOINT',
    ]);
    expect(env.find((e) => e.name === 'PGBACKREST_REPO1_GCS_KEY')!.valueFrom!.secretKeyRef).to.deep.equal({ name: 'gcs', key: 'token' });
    expect(env.find((e) => e.name === 'PGBACKREST_REPO2_AZURE_ENDPOINT')!.value).to.equal('azurite.example');
  });

  it('the repo host mounts each store CA and the service account key', () => {
    const pod = repoHostPod({ ...input, pgbackrestConf: '', owner: { apiVersion: 'v1', kind: 'X', name: 'shop', uid: 'u' } } as never);
    const secrets = pod.spec!.volumes!.filter((v) => v.secret).map((v) => v.secret!.secretName);
    expect(secrets).to.include.members(['ca', 'sa']);
    expect(secrets).to.not.include('gcs');
  });
});
