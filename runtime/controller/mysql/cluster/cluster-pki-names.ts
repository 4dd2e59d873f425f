/** Temporary: replaced by the PKI helper's function at merge. */
import type { ClusterSpec } from '../../../../src/api/mysql.cloudnative-mysql.io/types.js';
export function pkiSecretNames(cluster: string, certificates: ClusterSpec['certificates']) {
  return {
    serverCA: certificates?.serverCASecret ?? `${cluster}-server-ca`,
    serverTLS: certificates?.serverTLSSecret ?? `${cluster}-server-tls`,
    clientCA: certificates?.clientCASecret ?? `${cluster}-client-ca`,
    clientTLS: certificates?.clientTLSSecret ?? `${cluster}-client-tls`,
    replicationTLS: `${cluster}-replication-tls`,
  };
}
