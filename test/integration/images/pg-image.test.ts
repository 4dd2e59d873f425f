// The PostgreSQL image (`npm run images`, images/Containerfile's `postgres-instance`; decision 0286), run with
// podman: PostgreSQL 15, pgBackRest 2.45 and Silo's `silo pg` commands, as the postgres user (999). Inside one
// container, initdb and postgres start, and pgBackRest creates a stanza against that server, so the pieces a
// PGCluster's Pods use work together in the image. The stack's `images` component builds it; never skipped.
import { expect } from 'chai';
import { useStack } from '../../stack/mocha.js';
import { builtImages, engineArgs, podman, requireImage, type PodmanResult } from '../../support/images.js';

useStack('images');

const PG_UID = 999;
const expectOk = (run: PodmanResult, what: string) => expect(run.code, `${what}: ${(run.stdout + run.stderr).slice(-3000)}`).to.equal(0);
const inImage = (image: string, script: string) => podman(['run', '--rm', ...engineArgs(), '--entrypoint', 'sh', image, '-c', script]);

describe('the PostgreSQL image (npm run images: postgres-instance), with podman', function () {
  this.timeout(300_000);
  const images = builtImages();

  before(async () => {
    await requireImage(images.pgInstance);
  });

  it("holds PostgreSQL 15, pgBackRest 2.45 and `silo pg`, runs as postgres (999), has OCI labels and Debian's main cluster is not there", async () => {
    const probe = await inImage(
      images.pgInstance,
      'id -u; postgres --version; pgbackrest version; ls /var/lib/postgresql/15 2>/dev/null | wc -l; silo pg nope 2>/dev/null | tail -1',
    );
    expectOk(probe, 'the probe');
    const [uid, postgres, pgbackrest, mainCluster, result] = probe.stdout.trim().split('\n');
    expect(uid).to.equal(String(PG_UID));
    expect(postgres).to.match(/^postgres \(PostgreSQL\) 15\./);
    expect(pgbackrest).to.match(/^pgBackRest 2\.45/);
    expect(mainCluster).to.equal('0');
    // `silo pg` with an unknown mode: the result line names the commands the image runs.
    expect(JSON.parse(result)).to.deep.include({ outcome: 'failed', reason: 'config' });
    for (const mode of ['pg instance', 'pg repo-host', 'pg backup', 'pg restore']) expect(JSON.parse(result).error).to.include(mode);
    const labels = JSON.parse((await podman(['image', 'inspect', '--format', '{{json .Labels}}', images.pgInstance])).stdout);
    expect(labels['org.opencontainers.image.title']).to.equal('silo-postgres-instance');
    expect(labels['org.opencontainers.image.version']).to.equal(images.pgInstance.split(':').pop());
    expect(labels['org.opencontainers.image.revision']).to.match(/^[0-9a-f]{40}$/);
  });

  it('runs initdb and postgres, and pgBackRest creates a stanza, checks archiving and backs up against that server', async () => {
    const conf = [
      '[global]',
      'repo1-path=/tmp/repo',
      'lock-path=/tmp/lock',
      'log-path=/tmp',
      'log-level-console=warn',
      'compress-type=zst',
      '[t]',
      'pg1-path=/tmp/pgdata',
      'pg1-socket-path=/tmp',
    ].join('\\n');
    const archive = "archive_command='pgbackrest --config=/tmp/pgbackrest.conf --stanza=t archive-push %p'";
    const run = await inImage(
      images.pgInstance,
      [
        'set -e',
        `printf '${conf}\\n' > /tmp/pgbackrest.conf`,
        'initdb -D /tmp/pgdata -U postgres --auth=trust >/dev/null',
        `pg_ctl -D /tmp/pgdata -w -l /tmp/pg.log -o "-k /tmp -c listen_addresses='' -c archive_mode=on -c ${archive}" start >/dev/null`,
        'pgbackrest --config=/tmp/pgbackrest.conf --stanza=t stanza-create',
        'pgbackrest --config=/tmp/pgbackrest.conf --stanza=t check',
        'pgbackrest --config=/tmp/pgbackrest.conf --stanza=t --type=full backup',
        'pgbackrest --config=/tmp/pgbackrest.conf --stanza=t --output=json info',
      ].join('\n'),
    );
    expectOk(run, 'initdb, postgres and pgBackRest');
    const info = JSON.parse(run.stdout.trim().split('\n').pop()!);
    expect(info[0].status).to.deep.include({ code: 0 });
    expect(info[0].backup.map((b: { type: string }) => b.type)).to.deep.equal(['full']);
  });
});
