/**
 * Every port the stack's servers listen on, in one table, all on 127.0.0.1
 * and away from each product's default so a developer's own MySQL on 3306
 * or MinIO on 9000 never collides. The kube components keep their own ports.
 */
export const ports = {
  minioHttp: 19000,
  minioHttpConsole: 19001,
  minioTls: 19002,
  minioTlsConsole: 19003,
  cephMonV2: 19010,
  cephMonV1: 19011,
  rgw: 19012,
  /** Ceph daemons (OSD) bind inside this range instead of the default 6800-7300. */
  cephBindMin: 19020,
  cephBindMax: 19039,
  azuriteBlob: 19040,
  /** A second Azurite with the test CA's certificate: pgBackRest speaks to Azure over TLS only. */
  azuriteBlobTls: 19041,
  gcs: 19050,
  /** fake-gcs-server's HTTPS listener (the same server and data as `gcs`): pgBackRest speaks to GCS over TLS only. */
  gcsTls: 19051,
  mariadb: 19060,
  postgres: 19070,
} as const;

export const LOOPBACK = '127.0.0.1';
