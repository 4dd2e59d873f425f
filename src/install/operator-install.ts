import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { SiloCrds } from './crds.js';
import { siloImages, type ImageSource } from './images.js';
import { operatorDeployment, type OperatorDeploymentOptions } from './operator-deployment.js';
import { LEADER_ELECTION_RULES, OPERATOR_CLUSTER_RULES } from './rbac-rules.js';

/**
 * Props of the operator install bundle. `registry` and `version` name every image at once
 * (`<registry>/silo:<version>`, `<registry>/silo-mysql-instance:<version>`, `<registry>/silo-postgres-instance:<version>`);
 * `image`, `workerImage`, `instanceImage` and `pgInstanceImage` override one image by its full name.
 */
export interface OperatorInstallProps extends Partial<OperatorDeploymentOptions>, ImageSource {
  /**
   * Namespace the operator runs in; created by the bundle.
   * @default "silo-system"
   */
  readonly namespace?: string;
}

/** Default operator image; the tag follows the package version. */
export const DEFAULT_OPERATOR_IMAGE = siloImages().silo;
export const OPERATOR_NAME = 'silo-operator';

/**
 * Everything needed to run Silo: CRDs, namespace, ServiceAccount, least-privilege
 * RBAC, the Deployment and its metrics Service. Place it in a chart without a
 * namespace: CRDs and ClusterRoles are cluster-scoped, and every namespaced
 * object here sets its namespace explicitly. Names are stable, never hashed.
 */
export class OperatorInstall extends Construct {
  readonly namespace: string;

  constructor(scope: Construct, id: string, props: OperatorInstallProps = {}) {
    super(scope, id);
    const namespace = (this.namespace = props.namespace ?? 'silo-system');
    const labels = { 'app.kubernetes.io/name': 'silo', 'app.kubernetes.io/component': 'operator', 'app.kubernetes.io/part-of': 'silo' };
    const meta = (name: string, namespaced = true) => ({ name, labels, ...(namespaced ? { namespace } : {}) });

    new SiloCrds(this, 'crds');
    new k8s.KubeNamespace(this, 'namespace', { metadata: { name: namespace, labels } });
    new k8s.KubeServiceAccount(this, 'service-account', { metadata: meta(OPERATOR_NAME), automountServiceAccountToken: true });
    const subjects = [{ kind: 'ServiceAccount', name: OPERATOR_NAME, namespace }];
    new k8s.KubeClusterRole(this, 'cluster-role', { metadata: meta(OPERATOR_NAME, false), rules: OPERATOR_CLUSTER_RULES });
    new k8s.KubeClusterRoleBinding(this, 'cluster-role-binding', {
      metadata: meta(OPERATOR_NAME, false),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: OPERATOR_NAME },
      subjects,
    });
    new k8s.KubeRole(this, 'leader-election-role', { metadata: meta(`${OPERATOR_NAME}-leader-election`), rules: LEADER_ELECTION_RULES });
    new k8s.KubeRoleBinding(this, 'leader-election-role-binding', {
      metadata: meta(`${OPERATOR_NAME}-leader-election`),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `${OPERATOR_NAME}-leader-election` },
      subjects,
    });
    const images = siloImages(props);
    const deployment = operatorDeployment(
      {
        image: props.image ?? images.silo,
        replicas: props.replicas ?? 2,
        logLevel: props.logLevel ?? 'info',
        resources: props.resources ?? { requests: { cpu: '100m', memory: '192Mi' }, limits: { cpu: '1', memory: '512Mi' } },
        watchNamespaces: props.watchNamespaces,
        workerImage: props.workerImage,
        instanceImage: props.instanceImage ?? images.mysqlInstance,
        pgInstanceImage: props.pgInstanceImage ?? images.pgInstance,
      },
      meta(OPERATOR_NAME),
      labels,
    );
    new ApiObject(this, 'deployment', deployment as never);
    new k8s.KubeService(this, 'metrics-service', {
      metadata: meta(`${OPERATOR_NAME}-metrics`),
      spec: {
        selector: labels,
        ports: [{ name: 'metrics', port: 8080, targetPort: k8s.IntOrString.fromString('metrics'), protocol: 'TCP' }],
      },
    });
  }
}
