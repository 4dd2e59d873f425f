import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { expect } from 'chai';
import { S3Client } from '@aws-sdk/client-s3';
import { S3MultipartSink } from '../../../runtime/objectstore/s3-multipart-sink.js';
import { BASE_PART_SIZE } from '../../../runtime/objectstore/part-size.js';

interface SeenPart {
  partNumber: number;
  contentSha256: string;
  bodySha256: string;
  length: number;
}

/**
 * A minimal S3 multipart endpoint over HTTP that records what the SDK sends for each
 * part. It checks the request shape only; the integration tests run MinIO and RGW.
 */
async function recordingEndpoint(): Promise<{ server: Server; url: string; parts: SeenPart[] }> {
  const parts: SeenPart[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url!, 'http://x');
      const body = Buffer.concat(chunks);
      res.setHeader('content-type', 'application/xml');
      if (req.method === 'POST' && url.searchParams.has('uploads')) {
        return res.end(
          '<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>u1</UploadId></InitiateMultipartUploadResult>',
        );
      }
      if (req.method === 'PUT' && url.searchParams.has('partNumber')) {
        parts.push({
          partNumber: Number(url.searchParams.get('partNumber')),
          contentSha256: String(req.headers['x-amz-content-sha256']),
          bodySha256: createHash('sha256').update(body).digest('hex'),
          length: body.length,
        });
        res.setHeader('etag', `"etag-${url.searchParams.get('partNumber')}"`);
        return res.end();
      }
      if (req.method === 'POST' && url.searchParams.has('uploadId')) {
        return res.end('<CompleteMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><ETag>"done"</ETag></CompleteMultipartUploadResult>');
      }
      res.statusCode = 400;
      res.end('<Error><Code>Unexpected</Code></Error>');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, parts };
}

async function upload(url: string, data: Buffer, signPayload?: boolean): Promise<void> {
  const client = new S3Client({
    region: 'us-east-1',
    endpoint: url,
    forcePathStyle: true,
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const sink = new S3MultipartSink({ client, bucket: 'b', key: 'k', signPayload });
  await pipeline(Readable.from([data.subarray(0, 10 * 1024 * 1024), data.subarray(10 * 1024 * 1024)]), sink);
  client.destroy();
}

describe('S3 multipart sink: part payload signing', () => {
  const data = randomBytes(17 * 1024 * 1024);
  const partNumbers = Array.from({ length: Math.ceil(data.length / BASE_PART_SIZE) }, (_, i) => i + 1);

  it('sends parts as UNSIGNED-PAYLOAD by default, so the SDK does not hash every part again', async () => {
    const { server, url, parts } = await recordingEndpoint();
    try {
      await upload(url, data);
    } finally {
      server.close();
    }
    expect(parts.map((p) => p.partNumber).sort((a, b) => a - b)).to.deep.equal(partNumbers);
    expect(parts.every((p) => p.contentSha256 === 'UNSIGNED-PAYLOAD')).to.equal(true);
    expect(parts.reduce((n, p) => n + p.length, 0)).to.equal(data.length);
  });

  it('signs each part with its SHA256 when signPayload is set', async () => {
    const { server, url, parts } = await recordingEndpoint();
    try {
      await upload(url, data, true);
    } finally {
      server.close();
    }
    expect(parts).to.have.length(partNumbers.length);
    for (const part of parts) expect(part.contentSha256).to.equal(part.bodySha256);
  });
});
