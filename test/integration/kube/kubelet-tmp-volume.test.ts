/**
 * A volume mounted at /tmp must not hide the kubelet's own files under
 * /tmp/silo-stack: the install bundle's Deployment mounts an emptyDir there,
 * and the termination-log bind (and any later volume whose source is under
 * /tmp/silo-stack) used to fail with "special device … does not exist", so
 * the container never started.
 */
import { expect } from 'chai';
import { useKube, waitFor } from './fixture.js';

describe('kube: a volume at /tmp on the process kubelet', function () {
  this.timeout(90_000);
  const fx = useKube('tmp-volume', { withKubelet: true });

  it('runs a container with an emptyDir at /tmp and reports its termination message', async () => {
    await fx.core.createNamespacedPod({
      namespace: fx.namespace,
      body: {
        metadata: { name: 'tmp-volume' },
        spec: {
          schedulerName: fx.scheduler,
          restartPolicy: 'Never',
          volumes: [
            { name: 'tmp', emptyDir: {} },
            { name: 'data', emptyDir: {} },
          ],
          containers: [
            {
              name: 'main',
              image: 'busybox:1.36',
              command: [
                'sh',
                '-c',
                [
                  // /tmp is the (empty) volume, not the host's /tmp; /data is a second volume whose source is under /tmp/silo-stack.
                  'test ! -e /tmp/silo-stack || { echo host-tmp-visible > /dev/termination-log; exit 3; }',
                  'echo scratch > /tmp/scratch && echo data > /data/file',
                  'echo "tmp=$(cat /tmp/scratch) data=$(cat /data/file)" > /dev/termination-log',
                ].join('; '),
              ],
              volumeMounts: [
                { name: 'tmp', mountPath: '/tmp' },
                { name: 'data', mountPath: '/data' },
              ],
            },
          ],
        },
      },
    });
    const pod = await waitFor(
      'pod tmp-volume to finish',
      async () => {
        const p = await fx.core.readNamespacedPod({ namespace: fx.namespace, name: 'tmp-volume' });
        return ['Succeeded', 'Failed'].includes(p.status?.phase ?? '') ? p : undefined;
      },
      60_000,
    );
    const terminated = pod.status?.containerStatuses?.[0].state?.terminated;
    expect(terminated?.message, JSON.stringify(pod.status?.containerStatuses)).to.equal('tmp=scratch data=data\n');
    expect(terminated?.exitCode).to.equal(0);
    expect(pod.status?.phase).to.equal('Succeeded');
  });
});
