import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';

// The SDK warns on every Node 20 process that future releases need Node 22; we
// pin a version that supports Node 20 (decision 0115), so the warning is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export interface S3Endpoint {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region?: string;
  /** PEM file of the CA that signed the server's certificate (custom-CA TLS). */
  caFile?: string;
}

/**
 * An S3 client configured for the S3 that people really run (MinIO, Ceph RGW):
 * path-style addressing, and checksums only when an operation requires them,
 * because RGW answers the SDK's default streaming checksums with 411.
 */
export function s3Client(e: S3Endpoint): S3Client {
  return new S3Client({
    endpoint: e.endpoint,
    region: e.region ?? 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: e.accessKeyId, secretAccessKey: e.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // The SDK accepts handler options directly; a custom CA needs only an https agent.
    requestHandler: e.caFile ? { httpsAgent: new Agent({ ca: readFileSync(e.caFile) }) } : undefined,
  });
}

export async function ensureBucket(e: S3Endpoint, bucket: string): Promise<void> {
  const s3 = s3Client(e);
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    s3.destroy();
  }
}
