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
   * @default - requests 100m CPU / 128Mi, limits 1 CPU / 256Mi
   */
  readonly resources: { requests: Record<string, string>; limits: Record<string, string> };
}

/**
 * The operator Deployment as a plain manifest: numeric non-root user, read-only
 * root filesystem with an emptyDir /tmp, probes, metrics port, and the
 * ServiceAccount token mounted because the controller talks to the API server.
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
          securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
          terminationGracePeriodSeconds: 30,
          containers: [{
            name: 'operator',
            image: options.image,
            imagePullPolicy: 'IfNotPresent',
            args: ['controller', '--leader-elect', '--metrics-port=8080', '--health-port=8081', `--log-level=${options.logLevel}`],
            env: [
              { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              { name: 'OPERATOR_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
            ],
            ports: [{ name: 'metrics', containerPort: 8080, protocol: 'TCP' }, { name: 'health', containerPort: 8081, protocol: 'TCP' }],
            livenessProbe: { httpGet: { path: '/healthz', port: 'health' }, initialDelaySeconds: 5, periodSeconds: 10, failureThreshold: 3 },
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
          }],
          volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '256Mi' } }],
        },
      },
    },
  };
}
