/**
 * Runs the process kubelet as its own process (the `kubelet` stack component):
 *   KUBECONFIG=… SILO_KUBELET_STATE=… SILO_KUBELET_LOGS=… node --import tsx test/stack/kubelet/main.ts
 * SIGTERM stops every pod process before exiting.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { ProcessKubelet } from './kubelet.js';

const required = (name: string) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};

const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(required('KUBECONFIG'));
const kubelet = new ProcessKubelet({
  kubeConfig,
  stateDir: required('SILO_KUBELET_STATE'),
  logDir: required('SILO_KUBELET_LOGS'),
  nodeName: process.env.SILO_KUBELET_NODE_NAME,
  log: (m) => console.log(`${new Date().toISOString()} ${m}`),
});

let stopping = false;
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    kubelet.stop(5000).then(
      () => process.exit(0),
      (e) => {
        console.error(e);
        process.exit(1);
      },
    );
  });
}
await kubelet.start();
console.log(`${new Date().toISOString()} process kubelet ready as node ${kubelet.nodeName}`);
