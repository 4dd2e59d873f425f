/** The Node object the process kubelet registers, and its heartbeat. */
import type { CoreV1Api, V1NodeCondition } from '@kubernetes/client-node';
import { kubeTime } from './container-status.js';

const resources = { cpu: '8', memory: '32Gi', pods: '250', 'ephemeral-storage': '100Gi' };

function conditions(ready: boolean): V1NodeCondition[] {
  const now = kubeTime() as unknown as Date;
  const c = (type: string, status: string, reason: string, message: string): V1NodeCondition => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: now,
    lastTransitionTime: now,
  });
  return [
    c('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'process kubelet'),
    c('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'process kubelet'),
    c('PIDPressure', 'False', 'KubeletHasSufficientPID', 'process kubelet'),
    ready
      ? c('Ready', 'True', 'KubeletReady', 'process kubelet is posting ready status')
      : c('Ready', 'False', 'KubeletStopped', 'process kubelet stopped'),
  ];
}

function nodeStatus(name: string, ready: boolean, kubeletPort: number) {
  return {
    capacity: resources,
    allocatable: resources,
    conditions: conditions(ready),
    addresses: [
      { type: 'InternalIP', address: '127.0.0.1' },
      { type: 'Hostname', address: name },
    ],
    // Where the API server finds this kubelet's log endpoint (`kubectl logs`).
    daemonEndpoints: { kubeletEndpoint: { Port: kubeletPort } },
    nodeInfo: {
      machineID: '',
      systemUUID: '',
      bootID: '',
      kernelVersion: '',
      osImage: 'process kubelet',
      containerRuntimeVersion: 'process://1',
      kubeletVersion: 'v0.0.0-process',
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: 'amd64',
    },
  };
}

export async function registerNode(core: CoreV1Api, name: string, kubeletPort: number): Promise<void> {
  try {
    await core.createNode({
      body: {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name,
          labels: {
            'kubernetes.io/hostname': name,
            'kubernetes.io/os': 'linux',
            'kubernetes.io/arch': 'amd64',
            'silo.test/process-kubelet': 'true',
          },
        },
        spec: {},
        status: nodeStatus(name, true, kubeletPort) as never,
      },
    });
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
  }
  await heartbeat(core, name, kubeletPort); // also when the Node existed: mark it Ready again
}

/** Posts the Node's status; ready=false when the kubelet stops, so a stale Node does not look usable. */
export async function heartbeat(core: CoreV1Api, name: string, kubeletPort: number, ready = true): Promise<void> {
  await core.patchNodeStatus({ name, body: [{ op: 'replace', path: '/status', value: nodeStatus(name, ready, kubeletPort) }] });
}
