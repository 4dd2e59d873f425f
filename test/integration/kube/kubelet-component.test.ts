/**
 * The `kubelet` stack component (the process kubelet as its own process, as
 * end-to-end tests use it): a pod with the default scheduler runs on Node
 * `process-kubelet` and reaches Succeeded.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { useStack } from '../../stack/mocha.js';
import { DEFAULT_NODE_NAME, containerLogPath } from '../../stack/kubelet/kubelet.js';
import { waitFor } from './fixture.js';

describe('kube: the kubelet stack component', function () {
  this.timeout(60_000);
  const stack = useStack('kube', 'kubelet');
  const namespace = `kubelet-component-${randomBytes(3).toString('hex')}`;
  let core: CoreV1Api;

  before(async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(stack.env().KUBECONFIG);
    core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await waitFor('default ServiceAccount', () => core.readNamespacedServiceAccount({ namespace, name: 'default' }));
  });

  after(async () => {
    await core?.deleteNamespace({ name: namespace }).catch(() => undefined);
  });

  it('registers a Ready Node and runs a default-scheduler pod to Succeeded', async () => {
    const node = await core.readNode({ name: DEFAULT_NODE_NAME });
    expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.status).to.equal('True');
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'hello' },
        spec: {
          restartPolicy: 'Never',
          containers: [{ name: 'main', image: 'busybox:1.36', command: ['sh', '-c', 'echo hello from $HOSTNAME'] }],
        },
      },
    });
    const pod = await waitFor('pod hello Succeeded', async () => {
      const p = await core.readNamespacedPod({ namespace, name: 'hello' });
      return p.status?.phase === 'Succeeded' ? p : undefined;
    });
    expect(pod.spec?.nodeName).to.equal(DEFAULT_NODE_NAME);
    const log = readFileSync(containerLogPath(stack.ctx.logDir, namespace, 'hello', pod.metadata!.uid!, 'main'), 'utf8');
    expect(log).to.equal('hello from hello\n');
  });
});
