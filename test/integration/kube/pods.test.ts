/**
 * Process-kubelet behaviour that Silo's workers rely on: env and volumes from
 * Secrets/ConfigMaps, init containers sharing an emptyDir, the ServiceAccount
 * token mount, graceful deletion, and a clear reason for unknown images.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { RbacAuthorizationV1Api, type V1Pod } from '@kubernetes/client-node';
import { SILO_IMAGE_PREFIX } from '../../stack/kubelet/images.js';
import { useKube, waitFor } from './fixture.js';
import { containerLogPath } from '../../stack/kubelet/kubelet.js';

describe('kube: pods on the process kubelet', function () {
  this.timeout(90_000);
  const fx = useKube('pods', { withKubelet: true });

  const read = (name: string) => fx.core.readNamespacedPod({ namespace: fx.namespace, name });
  const logOf = (pod: V1Pod, container: string) =>
    readFileSync(containerLogPath(fx.kubeletLogDir, fx.namespace, pod.metadata!.name!, pod.metadata!.uid!, container), 'utf8');
  const untilPhase = (name: string, phases: string[], ms = 60_000) =>
    waitFor(
      `pod ${name} in ${phases.join('/')}`,
      async () => {
        const p = await read(name);
        return phases.includes(p.status?.phase ?? '') ? p : undefined;
      },
      ms,
    );

  it('resolves env and volumes from Secrets, ConfigMaps and the downward API; init containers run first', async () => {
    const ns = fx.namespace;
    await fx.core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'creds' }, stringData: { password: 'pa55', token: 't0k' } },
    });
    await fx.core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'cfg' }, data: { 'app.conf': 'level=debug\n', MODE: 'fast' } },
    });
    await fx.core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'features' },
        spec: {
          schedulerName: fx.scheduler,
          restartPolicy: 'Never',
          volumes: [
            { name: 'scratch', emptyDir: {} },
            { name: 'secret', secret: { secretName: 'creds' } },
            { name: 'config', configMap: { name: 'cfg', items: [{ key: 'app.conf', path: 'conf/app.conf' }] } },
          ],
          initContainers: [
            {
              name: 'prepare',
              image: 'busybox:1.36',
              command: ['sh', '-c', 'echo prepared > /scratch/marker'],
              volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }],
            },
          ],
          containers: [
            {
              name: 'main',
              image: 'debian:bookworm',
              command: [
                'sh',
                '-c',
                [
                  'echo "PASSWORD=$PASSWORD MODE=$MODE NS=$NS IP=$IP"',
                  'cat /scratch/marker /etc/creds/token /etc/app/conf/app.conf',
                  'echo; test -s /var/run/secrets/kubernetes.io/serviceaccount/token && echo has-sa-token',
                  'touch /etc/creds/x 2>/dev/null || echo secret-is-read-only',
                ].join('; '),
              ],
              env: [
                { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
                { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
              ],
              envFrom: [{ configMapRef: { name: 'cfg' } }],
              volumeMounts: [
                { name: 'scratch', mountPath: '/scratch' },
                { name: 'secret', mountPath: '/etc/creds', readOnly: true },
                { name: 'config', mountPath: '/etc/app' },
              ],
            },
          ],
        },
      },
    });
    const pod = await untilPhase('features', ['Succeeded', 'Failed']);
    const log = logOf(pod, 'main');
    expect(pod.status?.phase, log).to.equal('Succeeded');
    expect(log).to.contain(`PASSWORD=pa55 MODE=fast NS=${ns} IP=${pod.status?.podIP}`);
    expect(log).to.contain('prepared\nt0klevel=debug');
    expect(log).to.contain('has-sa-token');
    expect(log).to.contain('secret-is-read-only');
    expect(pod.status?.initContainerStatuses?.[0].state?.terminated?.exitCode).to.equal(0);
    // `kubectl logs` path: the API server proxies pods/log to the kubelet's log endpoint.
    expect(await fx.core.readNamespacedPodLog({ namespace: ns, name: 'features', container: 'main' })).to.equal(log);
    expect(await fx.core.readNamespacedPodLog({ namespace: ns, name: 'features', container: 'main', tailLines: 1 })).to.equal(
      'secret-is-read-only\n',
    );
    const conditions = Object.fromEntries((pod.status?.conditions ?? []).map((c) => [c.type, c.status]));
    expect(conditions).to.include({ PodScheduled: 'True', Initialized: 'True', Ready: 'False' });
  });

  it('a missing Secret keeps the container waiting with CreateContainerConfigError', async () => {
    await fx.core.createNamespacedPod({
      namespace: fx.namespace,
      body: {
        metadata: { name: 'no-secret' },
        spec: {
          schedulerName: fx.scheduler,
          restartPolicy: 'Never',
          containers: [
            {
              name: 'main',
              image: 'busybox:1.36',
              command: ['true'],
              env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'absent', key: 'k' } } }],
            },
          ],
        },
      },
    });
    const waiting = await waitFor('CreateContainerConfigError', async () => {
      const state = (await read('no-secret')).status?.containerStatuses?.[0].state?.waiting;
      return state?.reason === 'ContainerCreating' ? undefined : state;
    });
    expect(waiting.reason).to.equal('CreateContainerConfigError');
    expect(waiting.message).to.equal('secret "absent" not found');
  });

  it('an image without a local recipe waits with ErrImagePull and says why', async () => {
    await fx.core.createNamespacedPod({
      namespace: fx.namespace,
      body: {
        metadata: { name: 'unknown-image' },
        spec: { schedulerName: fx.scheduler, containers: [{ name: 'main', image: 'nginx:1.25' }] },
      },
    });
    // Not the ContainerCreating the first status may show before the image is looked up.
    const waiting = await waitFor('ErrImagePull', async () => {
      const state = (await read('unknown-image')).status?.containerStatuses?.[0].state?.waiting;
      return state?.reason === 'ContainerCreating' ? undefined : state;
    });
    expect(waiting.reason).to.equal('ErrImagePull');
    expect(waiting.message).to.contain('nginx:1.25');
    // `kubectl describe pod` shows what happened, as with a real kubelet.
    const events = await waitFor('Scheduled and Failed events', async () => {
      const list = await fx.core.listNamespacedEvent({ namespace: fx.namespace, fieldSelector: 'involvedObject.name=unknown-image' });
      const reasons = list.items.map((e) => e.reason);
      return reasons.includes('Scheduled') && reasons.includes('Failed') ? list.items : undefined;
    });
    expect(events.find((e) => e.reason === 'Failed')?.message).to.contain('no local command for image "nginx:1.25"');
  });

  it('Ready while running; deletion sends SIGTERM to the process group, then removes the pod', async () => {
    await fx.core.createNamespacedPod({
      namespace: fx.namespace,
      body: {
        metadata: { name: 'graceful' },
        spec: {
          schedulerName: fx.scheduler,
          terminationGracePeriodSeconds: 20,
          containers: [
            {
              name: 'main',
              image: 'busybox:1.36',
              command: ['sh', '-c', 'trap "echo got-TERM; exit 0" TERM; echo started; while true; do sleep 0.2; done'],
            },
          ],
        },
      },
    });
    const running = await waitFor('graceful Ready', async () => {
      const p = await read('graceful');
      return p.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? p : undefined;
    });
    expect(running.status?.containerStatuses?.[0].state?.running).to.not.equal(undefined);
    const started = Date.now();
    await fx.core.deleteNamespacedPod({ namespace: fx.namespace, name: 'graceful' });
    await waitFor(
      'graceful to be gone',
      async () =>
        read('graceful').then(
          () => false,
          (err) => err.code === 404,
        ),
      30_000,
    );
    expect(Date.now() - started, 'it exited on SIGTERM, long before the grace period').to.be.lessThan(15_000);
    expect(logOf(running, 'main')).to.contain('got-TERM');
  });

  it('readiness probes run inside the container (exec) and gate Ready; a failing liveness probe restarts it', async () => {
    await fx.core.createNamespacedPod({
      namespace: fx.namespace,
      body: {
        metadata: { name: 'probed' },
        spec: {
          schedulerName: fx.scheduler,
          terminationGracePeriodSeconds: 1,
          volumes: [{ name: 'state', emptyDir: {} }],
          containers: [
            {
              name: 'main',
              image: 'busybox:1.36',
              volumeMounts: [{ name: 'state', mountPath: '/probe-state' }],
              command: ['sh', '-c', 'sleep 2; touch /probe-state/ready; exec sleep 600'],
              // /probe-state exists only in the container's mount namespace.
              readinessProbe: { exec: { command: ['test', '-e', '/probe-state/ready'] }, periodSeconds: 1, failureThreshold: 1 },
            },
            {
              name: 'doomed',
              image: 'busybox:1.36',
              command: ['sleep', '600'],
              livenessProbe: { tcpSocket: { port: 1 }, periodSeconds: 1, failureThreshold: 2 },
            },
          ],
        },
      },
    });
    const early = await waitFor('probed running', async () => {
      const p = await read('probed');
      return p.status?.containerStatuses?.find((c) => c.name === 'main')?.state?.running ? p : undefined;
    });
    expect(early.status?.containerStatuses?.find((c) => c.name === 'main')?.ready).to.equal(false);
    await waitFor(
      'main container ready',
      async () => (await read('probed')).status?.containerStatuses?.find((c) => c.name === 'main')?.ready === true,
      20_000,
    );
    const restarted = await waitFor(
      'doomed restarted by its liveness probe',
      async () => (await read('probed')).status?.containerStatuses?.find((c) => c.name === 'doomed' && (c.restartCount ?? 0) >= 1),
      30_000,
    );
    expect(restarted.lastState?.terminated?.exitCode).to.be.oneOf([137, 143]);
  });

  it('a postgres:15 pod initialises its own PGDATA and answers on its pod IP', async () => {
    await fx.core.createNamespacedPod({
      namespace: fx.namespace,
      body: {
        metadata: { name: 'pg' },
        spec: {
          schedulerName: fx.scheduler,
          terminationGracePeriodSeconds: 10,
          containers: [
            {
              name: 'postgres',
              image: 'postgres:15',
              env: [{ name: 'POSTGRES_PASSWORD', value: 'pw' }],
              readinessProbe: { exec: { command: ['pg_isready', '-U', 'postgres', '-h', '/var/run/postgresql'] }, periodSeconds: 1 },
            },
          ],
        },
      },
    });
    const pod = await waitFor(
      'postgres Ready',
      async () => {
        const p = await read('pg');
        return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? p : undefined;
      },
      60_000,
    );
    const out = execFileSync('psql', ['-h', pod.status!.podIP!, '-U', 'postgres', '-tAc', 'SHOW data_directory'], {
      encoding: 'utf8',
      env: { ...process.env, PGPASSWORD: 'pw' },
      timeout: 10_000,
    });
    expect(out.trim()).to.equal('/var/lib/postgresql/data');
  });

  it('FallbackToLogsOnError reports the log tail of a failed container as its termination message', async () => {
    await fx.core.createNamespacedPod({
      namespace: fx.namespace,
      body: {
        metadata: { name: 'fallback' },
        spec: {
          schedulerName: fx.scheduler,
          restartPolicy: 'Never',
          containers: [
            {
              name: 'main',
              image: 'busybox:1.36',
              terminationMessagePolicy: 'FallbackToLogsOnError',
              command: ['sh', '-c', 'echo step one; echo "error: access denied" >&2; exit 1'],
            },
          ],
        },
      },
    });
    const pod = await untilPhase('fallback', ['Failed', 'Succeeded']);
    expect(pod.status?.containerStatuses?.[0].state?.terminated?.message).to.equal('step one\nerror: access denied\n');
  });

  it("Silo's image runs this checkout's code in-cluster, with the pod's ServiceAccount token and RBAC", async () => {
    const ns = fx.namespace;
    await fx.kc.makeApiClient(RbacAuthorizationV1Api).createNamespacedRole({
      namespace: ns,
      body: { metadata: { name: 'pod-reader' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['list'] }] },
    });
    await fx.kc.makeApiClient(RbacAuthorizationV1Api).createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: 'pod-reader' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' },
        subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: ns }],
      },
    });
    await fx.core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'in-cluster' },
        spec: {
          schedulerName: fx.scheduler,
          restartPolicy: 'Never',
          containers: [
            {
              name: 'main',
              image: `${SILO_IMAGE_PREFIX}:dev`,
              // The image's node with the checkout's tsx, asked for by name: `node` alone is plain Node (decision 0105).
              command: ['node', '--import', 'tsx', 'test/integration/kube/fixtures/in-cluster-client.ts'],
              env: [{ name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }],
            },
          ],
        },
      },
    });
    const pod = await untilPhase('in-cluster', ['Succeeded', 'Failed']);
    const log = logOf(pod, 'main');
    expect(pod.status?.phase, log).to.equal('Succeeded');
    expect(log).to.match(/in-cluster as .*: .*in-cluster/);
    expect(log).to.contain('list secrets: denied 403');
  });

  it('restartPolicy OnFailure restarts a failing container and counts restarts', async () => {
    await fx.core.createNamespacedPod({
      namespace: fx.namespace,
      body: {
        metadata: { name: 'flaky' },
        spec: {
          schedulerName: fx.scheduler,
          restartPolicy: 'OnFailure',
          volumes: [{ name: 'state', emptyDir: {} }],
          containers: [
            {
              name: 'main',
              image: 'busybox:1.36',
              volumeMounts: [{ name: 'state', mountPath: '/state' }],
              // Fails the first time, succeeds the second: the emptyDir survives the restart.
              command: ['sh', '-c', 'if [ -e /state/tried ]; then exit 0; fi; touch /state/tried; exit 7'],
            },
          ],
        },
      },
    });
    const pod = await untilPhase('flaky', ['Succeeded', 'Failed']);
    expect(pod.status?.phase).to.equal('Succeeded');
    const status = pod.status!.containerStatuses![0];
    expect(status.restartCount).to.equal(1);
    expect(status.lastState?.terminated?.exitCode).to.equal(7);
  });
});
