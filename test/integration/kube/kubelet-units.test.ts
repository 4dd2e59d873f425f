/**
 * The process kubelet's pure parts: env resolution, $(VAR) expansion, the
 * image table, pod IPs and the mount prologue. No servers needed.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { V1ConfigMap, V1Container, V1Pod, V1Secret } from '@kubernetes/client-node';
import { ContainerConfigError, expandVars, resolveEnv } from '../../stack/kubelet/env.js';
import { imageRepository, imageRunsSilo, resolveImage, SILO_IMAGE_PREFIX } from '../../stack/kubelet/images.js';
import { PodIpAllocator, podIpForIndex } from '../../stack/kubelet/pod-ips.js';
import { containerMounts, mountScript, startContainer } from '../../stack/kubelet/container-process.js';
import { repoRoot } from '../../stack/kube/layout.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const secrets: Record<string, V1Secret> = { creds: { data: { user: b64('alice'), pass: b64('s3cret') } } };
const configMaps: Record<string, V1ConfigMap> = { settings: { data: { LEVEL: 'debug', MODE: 'fast' } } };
const lookups = {
  secret: async (_ns: string, name: string) => secrets[name],
  configMap: async (_ns: string, name: string) => configMaps[name],
};
const pod: V1Pod = {
  metadata: { name: 'p1', namespace: 'ns1', uid: 'u1', labels: { app: 'db' } },
  spec: { nodeName: 'n1', serviceAccountName: 'sa1', containers: [] },
  status: { podIP: '127.1.0.9', hostIP: '127.0.0.1' },
};

describe('process kubelet: env resolution', () => {
  it('expands $(VAR) from earlier variables, keeps unknown ones and unescapes $$', () => {
    expect(expandVars('a=$(A) b=$(B) $$(A) $', { A: '1' })).to.equal('a=1 b=$(B) $(A) $');
  });

  it('resolves values, Secret and ConfigMap keys, fieldRefs and envFrom with prefixes, later entries winning', async () => {
    const c: V1Container = {
      name: 'c',
      envFrom: [{ configMapRef: { name: 'settings' } }, { secretRef: { name: 'creds' }, prefix: 'DB_' }],
      env: [
        { name: 'MODE', value: 'slow' },
        { name: 'USER', valueFrom: { secretKeyRef: { name: 'creds', key: 'user' } } },
        { name: 'LVL', valueFrom: { configMapKeyRef: { name: 'settings', key: 'LEVEL' } } },
        { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
        { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: 'URL', value: 'mysql://$(USER)@$(IP)/$(MISSING)' },
      ],
    };
    const env = await resolveEnv(pod, c, lookups, { BASE: 'x' });
    expect(env).to.include({
      BASE: 'x',
      LEVEL: 'debug',
      MODE: 'slow',
      DB_user: 'alice',
      DB_pass: 's3cret',
      USER: 'alice',
      LVL: 'debug',
      POD: 'p1',
      NS: 'ns1',
      IP: '127.1.0.9',
      NODE: 'n1',
      APP: 'db',
      URL: 'mysql://alice@127.1.0.9/$(MISSING)',
    });
  });

  it('fails with CreateContainerConfigError-style messages for missing references, unless optional', async () => {
    const missingSecret: V1Container = { name: 'c', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'nope', key: 'k' } } }] };
    await resolveEnv(pod, missingSecret, lookups).then(
      () => expect.fail('should throw'),
      (err) => {
        expect(err).to.be.instanceOf(ContainerConfigError);
        expect(err.message).to.equal('secret "nope" not found');
      },
    );
    const missingKey: V1Container = { name: 'c', env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'settings', key: 'k' } } }] };
    await resolveEnv(pod, missingKey, lookups).then(
      () => expect.fail('should throw'),
      (err) => {
        expect(err.message).to.equal("couldn't find key k in ConfigMap ns1/settings");
      },
    );
    const optional: V1Container = {
      name: 'c',
      env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'nope', key: 'k', optional: true } } }],
      envFrom: [{ configMapRef: { name: 'nope', optional: true } }],
    };
    expect(await resolveEnv(pod, optional, lookups)).to.not.have.property('X');
  });
});

describe('process kubelet: image table', () => {
  it('parses repositories with registries, tags and digests', () => {
    expect(imageRepository('mariadb:10.11')).to.equal('mariadb');
    expect(imageRepository('docker.io/library/postgres:15@sha256:abc')).to.equal('postgres');
    expect(imageRepository('localhost:5000/busybox')).to.equal('localhost:5000/busybox');
    expect(imageRepository(`${SILO_IMAGE_PREFIX}-worker:0.1.0`)).to.equal(`${SILO_IMAGE_PREFIX}-worker`);
  });

  it("runs `silo` in Silo's images as the launcher of the bundle built from the checkout, other commands as given", () => {
    const launcher = '/cache/silo-image/k/silo';
    const dflt = resolveImage(`${SILO_IMAGE_PREFIX}:dev`, undefined, ['controller'], launcher);
    expect(dflt.ok && dflt.run.argv).to.deep.equal([launcher, 'controller']);
    const explicit = resolveImage(`${SILO_IMAGE_PREFIX}-worker:0.1.0`, ['silo', 'pg', 'backup'], undefined, launcher);
    expect(explicit.ok && explicit.run.argv).to.deep.equal([launcher, 'pg', 'backup']);
    const shell = resolveImage(`${SILO_IMAGE_PREFIX}:dev`, ['sh', '-c'], ['echo hi'], launcher);
    expect(shell.ok && shell.run.argv).to.deep.equal(['sh', '-c', 'echo hi']);
    expect(imageRunsSilo('ghcr.io/cloudnative-mysql/cloudnative-mysql-instance:10.11')).to.equal(true);
    expect(imageRunsSilo('busybox:1.36')).to.equal(false);
  });

  it('keeps Kubernetes command/args semantics for busybox and mariadb', () => {
    const sh = resolveImage('busybox:1.36', ['sh', '-c'], ['echo hi'], '');
    expect(sh.ok && sh.run.argv).to.deep.equal(['sh', '-c', 'echo hi']);
    const maria = resolveImage('mariadb:10.11', undefined, ['--skip-log-bin'], '');
    expect(maria.ok && maria.run.argv.slice(1)).to.deep.equal(['--skip-log-bin']);
    expect(maria.ok && maria.run.anonymousVolumes).to.include('/var/lib/mysql');
    const mariaDefault = resolveImage('docker.io/library/mariadb:10.11', undefined, undefined, '');
    expect(mariaDefault.ok && mariaDefault.run.argv.slice(1)).to.deep.equal(['mariadbd']);
  });

  it('refuses unknown images with ErrImagePull and a pointer to the table', () => {
    const r = resolveImage('nginx:1.25', undefined, undefined, '');
    expect(r.ok).to.equal(false);
    if (r.ok) return;
    expect(r.reason).to.equal('ErrImagePull');
    expect(r.message).to.contain('no local command for image "nginx:1.25"').and.contain('images.ts');
  });
});

describe('process kubelet: pod IPs and mounts', () => {
  it("hands out distinct 127.1.x.y addresses and keeps a restarted pod's address", () => {
    expect(podIpForIndex(0)).to.equal('127.1.0.1');
    expect(podIpForIndex(254)).to.equal('127.1.1.1');
    const a = new PodIpAllocator();
    const ip1 = a.allocate('u1');
    const ip2 = a.allocate('u2');
    expect(ip1).to.not.equal(ip2);
    expect(a.allocate('u1')).to.equal(ip1);
    expect(a.allocate('u3', '127.1.7.7')).to.equal('127.1.7.7');
    expect(a.allocate('u4', '127.1.7.7')).to.not.equal('127.1.7.7');
    // A kubelet started at another index (parallel test files) hands out another block.
    expect(new PodIpAllocator(254 * 5).allocate('u1')).to.equal('127.1.5.1');
  });

  it('mounts parents before children, read-only where asked, then execs in the working dir', () => {
    const script = mountScript(
      [
        { source: '/s/child', target: '/data/conf', readOnly: true },
        { source: '/s/parent', target: '/data', readOnly: false },
      ],
      '/work',
    );
    const lines = script.split('\n');
    expect(lines.findIndex((l) => l.includes("'/data'"))).to.be.lessThan(lines.findIndex((l) => l.includes("'/data/conf'")));
    expect(script).to.contain("mount -o remount,bind,ro '/data/conf'");
    expect(lines.at(-1)).to.equal('exec "$@"');
  });

  it("bakes the checkout into Silo's image, bound after the pod's mounts (decision 0130)", () => {
    const silo = resolveImage(`${SILO_IMAGE_PREFIX}:dev`, undefined, ['controller'], '');
    expect(silo.ok && silo.run.imagePaths).to.deep.equal([repoRoot]);
    const busybox = resolveImage('busybox:1.36', ['sh'], undefined, '');
    expect(busybox.ok && busybox.run.imagePaths).to.deep.equal([]);
    const dir = mkdtempSync(join(tmpdir(), 'silo-kubelet-units-'));
    try {
      const spec: V1Container = { name: 'c', volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }] };
      const image = { anonymousVolumes: [], imagePaths: [repoRoot] };
      const mounts = containerMounts(spec, new Map([['tmp', join(dir, 'tmp')]]), image, join(dir, 'anon'), join(dir, 'termination'));
      expect(mounts.map((m) => m.target)).to.deep.equal(['/tmp', repoRoot, '/dev/termination-log']);
      const lines = mountScript(mounts, repoRoot).split('\n');
      const bindOnto = (target: string) => lines.findIndex((l) => l.startsWith('mount ') && l.endsWith(` '${target}'`));
      expect(bindOnto('/tmp')).to.be.greaterThan(-1).and.lessThan(bindOnto(repoRoot));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a volume at /tmp does not hide an image directory under /tmp from the container', async () => {
    // The case of a checkout cloned under /tmp and the install bundle's emptyDir at /tmp.
    const dir = mkdtempSync(join(tmpdir(), 'silo-kubelet-units-'));
    try {
      const baked = join(dir, 'checkout');
      mkdirSync(baked);
      writeFileSync(join(baked, 'marker'), 'baked');
      const spec: V1Container = { name: 'c', volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }] };
      const run = async (imagePaths: string[], name: string) => {
        const image = { anonymousVolumes: [], imagePaths };
        const mounts = containerMounts(
          spec,
          new Map([['tmp', join(dir, `empty-${name}`)]]),
          image,
          join(dir, 'anon'),
          join(dir, `term-${name}`),
        );
        const logPath = join(dir, `${name}.log`);
        const c = startContainer({
          argv: ['cat', 'marker'],
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
          cwd: baked,
          mounts,
          logPath,
        });
        const exit = await c.exited;
        return { exitCode: exit.exitCode, log: readFileSync(logPath, 'utf8') };
      };
      expect(await run([baked], 'with')).to.deep.equal({ exitCode: 0, log: 'baked' });
      expect((await run([], 'without')).exitCode).to.not.equal(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a child the main process left running ends with the container, as its PID namespace would take it', async () => {
    // The case of an init container that crashed while its postgres replayed: the postgres held the volume's lock.
    const dir = mkdtempSync(join(tmpdir(), 'silo-kubelet-units-'));
    try {
      const logPath = join(dir, 'c.log');
      const c = startContainer({
        argv: ['/bin/bash', '-c', 'sleep 300 & echo $!'],
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        cwd: dir,
        mounts: [],
        logPath,
      });
      expect((await c.exited).exitCode).to.equal(0);
      const child = Number(readFileSync(logPath, 'utf8').trim());
      expect(child).to.be.greaterThan(0);
      // A killed child may stay a zombie until something reaps it: running means a state other than Z in /proc.
      const alive = () => {
        try {
          return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${child}/stat`, 'utf8'));
        } catch {
          return false;
        }
      };
      for (let i = 0; i < 50 && alive(); i++) await new Promise((r) => setTimeout(r, 20));
      expect(alive()).to.equal(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
