/**
 * Jobs and pod deadlines through the real job controller and the process kubelet.
 */
import { expect } from 'chai';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { useKube, waitFor, podsWithLabel } from './fixture.js';

function job(name: string, script: string, schedulerName: string): V1Job {
  return {
    metadata: { name },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: { labels: { job: name } },
        spec: {
          schedulerName,
          restartPolicy: 'Never',
          containers: [
            {
              name: 'main',
              image: 'busybox:1.36',
              command: ['sh', '-c', script],
              env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
            },
          ],
        },
      },
    },
  };
}

describe('kube: Jobs run through the process kubelet', function () {
  this.timeout(120_000);
  const fx = useKube('jobs', { withKubelet: true });

  it('a Job whose command exits 0 reaches Complete, with its pod Succeeded', async () => {
    await fx.batch.createNamespacedJob({ namespace: fx.namespace, body: job('ok', 'echo "hello from $POD_NAME"', fx.scheduler) });
    const done = await waitFor('Job ok to complete', async () => {
      const j = await fx.batch.readNamespacedJob({ namespace: fx.namespace, name: 'ok' });
      return j.status?.conditions?.find((c) => c.type === 'Complete' && c.status === 'True') ? j : undefined;
    });
    expect(done.status?.succeeded).to.equal(1);
    const [pod] = await podsWithLabel(fx, 'job=ok');
    expect(pod.status?.phase).to.equal('Succeeded');
    expect(pod.spec?.nodeName).to.equal('process-kubelet-jobs');
    expect(pod.status?.podIP).to.match(/^127\.1\.\d+\.\d+$/);
    const terminated = pod.status?.containerStatuses?.[0].state?.terminated;
    expect(terminated?.exitCode).to.equal(0);
    expect(terminated?.reason).to.equal('Completed');
  });

  it('a Job whose command exits 3 reaches Failed, and the pod shows exit code 3', async () => {
    await fx.batch.createNamespacedJob({
      namespace: fx.namespace,
      body: job('fails', 'echo failing >&2; echo "bucket not found" > /dev/termination-log; exit 3', fx.scheduler),
    });
    const failed = await waitFor('Job fails to fail', async () => {
      const j = await fx.batch.readNamespacedJob({ namespace: fx.namespace, name: 'fails' });
      return j.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True');
    });
    expect(failed.reason).to.equal('BackoffLimitExceeded');
    const [pod] = await podsWithLabel(fx, 'job=fails');
    expect(pod.status?.phase).to.equal('Failed');
    const terminated = pod.status?.containerStatuses?.[0].state?.terminated;
    expect(terminated?.exitCode).to.equal(3);
    expect(terminated?.reason).to.equal('Error');
    expect(terminated?.message, 'terminationMessagePath content').to.equal('bucket not found\n');
  });

  it('a Job with a native sidecar (init container, restartPolicy Always) completes; the sidecar is stopped after the main container', async () => {
    const body = job('sidecar', 'for i in 1 2 3 4 5 6 7 8 9 10; do [ -e /shared/beat ] && exit 0; sleep 0.3; done; exit 9', fx.scheduler);
    const podSpec = body.spec!.template.spec!;
    podSpec.volumes = [{ name: 'shared', emptyDir: {} }];
    podSpec.containers[0].volumeMounts = [{ name: 'shared', mountPath: '/shared' }];
    podSpec.initContainers = [
      {
        name: 'helper',
        image: 'busybox:1.36',
        restartPolicy: 'Always',
        command: ['sh', '-c', 'trap "exit 0" TERM; while true; do touch /shared/beat; sleep 0.2; done'],
        volumeMounts: [{ name: 'shared', mountPath: '/shared' }],
      },
    ];
    await fx.batch.createNamespacedJob({ namespace: fx.namespace, body });
    await waitFor('Job sidecar to complete', async () =>
      (await fx.batch.readNamespacedJob({ namespace: fx.namespace, name: 'sidecar' })).status?.conditions?.find(
        (c) => c.type === 'Complete' && c.status === 'True',
      ),
    );
    const [pod] = await podsWithLabel(fx, 'job=sidecar');
    expect(pod.status?.phase).to.equal('Succeeded');
    expect(pod.status?.containerStatuses?.[0].state?.terminated?.exitCode).to.equal(0);
    expect(pod.status?.initContainerStatuses?.[0].state?.terminated, 'the sidecar was stopped').to.not.equal(undefined);
  });

  it('a pod past activeDeadlineSeconds is killed and reports DeadlineExceeded', async () => {
    const started = Date.now();
    await fx.core.createNamespacedPod({
      namespace: fx.namespace,
      body: {
        metadata: { name: 'deadline' },
        spec: {
          schedulerName: fx.scheduler,
          restartPolicy: 'Never',
          activeDeadlineSeconds: 3,
          terminationGracePeriodSeconds: 1,
          containers: [{ name: 'sleeper', image: 'busybox:1.36', command: ['sleep', '600'] }],
        },
      },
    });
    await waitFor(
      'pod deadline to be running',
      async () => (await fx.core.readNamespacedPod({ namespace: fx.namespace, name: 'deadline' })).status?.phase === 'Running',
    );
    const pod: V1Pod = await waitFor(
      'pod deadline to fail',
      async () => {
        const p = await fx.core.readNamespacedPod({ namespace: fx.namespace, name: 'deadline' });
        return p.status?.phase === 'Failed' ? p : undefined;
      },
      30_000,
    );
    expect(Date.now() - started).to.be.greaterThan(3000);
    expect(pod.status?.reason).to.equal('DeadlineExceeded');
    const terminated = pod.status?.containerStatuses?.[0].state?.terminated;
    expect(terminated?.exitCode).to.be.oneOf([137, 143]); // SIGKILL or SIGTERM
  });
});
