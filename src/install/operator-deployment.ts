/** What a user may tune on the operator Deployment. */
export interface OperatorDeploymentOptions {
  /**
   * Operator image.
   * @default DEFAULT_OPERATOR_IMAGE
   */
  readonly image: string;
  /**
   * Replicas; one leads through a Lease, the others stand by.
   * @default 2
   */
  readonly replicas: number;
  /**
   * Log level of the JSON logs.
   * @default "info"
   */
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  /**
   * Container resources.
   * @default - requests 100m CPU / 192Mi, limits 1 CPU / 512Mi (peak RSS 345-371 MiB measured with 200 schedules firing at once; docs/decisions/0200)
   */
  readonly resources: { requests: Record<string, string>; limits: Record<string, string> };
  /**
   * Namespaces the operator watches (`--watch-namespace`); empty watches all.
   * @default - all namespaces
   */
  readonly watchNamespaces?: readonly string[];
  /**
   * Image of the worker Jobs and Pods the operator renders (`SILO_WORKER_IMAGE`).
   * @default - the operator image: one image holds both
   */
  readonly workerImage?: string;
  /**
   * A MySQL/MariaDB Cluster's instance image when its spec.imageName is empty (`SILO_INSTANCE_IMAGE`).
   * @default - `<registry>/silo-mysql-instance:<version>` (src/install/images.ts)
   */
  readonly instanceImage?: string;
  /**
   * A PGCluster's image (instances, repo host, backup Jobs) when its spec.image is empty (`SILO_PG_INSTANCE_IMAGE`).
   * @default - `<registry>/silo-postgres-instance:<version>` (src/install/images.ts)
   */
  readonly pgInstanceImage?: string;
}

/** Ports of the operator container; the probes and the metrics Service use their names. */
export const METRICS_PORT = 8080;
export const HEALTH_PORT = 8081;
/** Name of the leader-election Lease in the operator namespace. */
export const LEADER_ELECTION_ID = 'silo-operator';

/** `silo controller` arguments; the flags are parsed in runtime/controller/manager/flags.ts. */
export function operatorArgs(options: OperatorDeploymentOptions): string[] {
  return [
    'controller',
    '--leader-elect',
    `--leader-election-id=${LEADER_ELECTION_ID}`,
    `--metrics-port=${METRICS_PORT}`,
    `--health-port=${HEALTH_PORT}`,
    `--log-level=${options.logLevel}`,
    ...(options.watchNamespaces?.length ? [`--watch-namespace=${options.watchNamespaces.join(',')}`] : []),
  ];
}

/**
 * The operator Deployment as a plain manifest: numeric non-root user, read-only
 * root filesystem with an emptyDir /tmp, probes, metrics port, and the
 * ServiceAccount token mounted because the controller talks to the API server.
 * The pod's IP, namespace and name come from the downward API: the servers bind
 * the pod IP, the Lease lives in the pod's namespace, the pod name is the Lease
 * holder identity.
 */
export function operatorDeployment(options: OperatorDeploymentOptions, metadata: Record<string, unknown>, labels: Record<string, string>) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata,
    spec: {
      replicas: options.replicas,
      selector: { matchLabels: labels },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: metadata.name,
          automountServiceAccountToken: true,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 65532,
            runAsGroup: 65532,
            fsGroup: 65532,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          terminationGracePeriodSeconds: 30,
          containers: [
            {
              name: 'operator',
              image: options.image,
              imagePullPolicy: 'IfNotPresent',
              args: operatorArgs(options),
              env: [
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
                { name: 'SILO_WORKER_IMAGE', value: options.workerImage ?? options.image },
                ...(options.instanceImage ? [{ name: 'SILO_INSTANCE_IMAGE', value: options.instanceImage }] : []),
                ...(options.pgInstanceImage ? [{ name: 'SILO_PG_INSTANCE_IMAGE', value: options.pgInstanceImage }] : []),
              ],
              ports: [
                { name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' },
                { name: 'health', containerPort: HEALTH_PORT, protocol: 'TCP' },
              ],
              livenessProbe: {
                httpGet: { path: '/healthz', port: 'health' },
                initialDelaySeconds: 5,
                periodSeconds: 10,
                failureThreshold: 3,
              },
              readinessProbe: { httpGet: { path: '/readyz', port: 'health' }, periodSeconds: 5, failureThreshold: 3 },
              resources: options.resources,
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                runAsNonRoot: true,
                runAsUser: 65532,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
            },
          ],
          volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '256Mi' } }],
        },
      },
    },
  };
}
