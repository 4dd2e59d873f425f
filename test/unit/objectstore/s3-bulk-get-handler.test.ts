import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { expect } from 'chai';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { HttpRequest } from '@smithy/core/protocols';
import { S3Store } from '../../../runtime/objectstore/s3-store.js';
import { ObjectStoreError } from '../../../runtime/objectstore/object-store.js';
import { BulkGetHandler } from '../../../runtime/objectstore/s3-bulk-get-handler.js';
import { READ_BUFFER_BYTES, ReadBufferPool, ownsItsMemory } from '../../../runtime/objectstore/read-buffer-pool.js';
import { resumableRead } from '../../../runtime/datapath/restore-pipeline.js';

const MiB = 1024 * 1024;

interface Endpoint {
  url: string;
  requests: IncomingMessage[];
  close: () => Promise<void>;
}

/** An S3-shaped GetObject endpoint over HTTP; `answer` decides each response. The integration tests run MinIO and RGW. */
async function endpoint(answer: (req: IncomingMessage, res: ServerResponse, nth: number) => void): Promise<Endpoint> {
  const requests: IncomingMessage[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    requests.push(req);
    answer(req, res, requests.length);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Serves `body` with Content-Length, honouring `Range: bytes=N-`. */
function serve(body: Buffer) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const start = Number(/^bytes=(\d+)-$/.exec(String(req.headers.range ?? ''))?.[1] ?? 0);
    res.writeHead(start ? 206 : 200, { 'content-length': body.length - start, 'content-type': 'application/octet-stream' });
    res.end(body.subarray(start));
  };
}

const storeFor = (url: string) =>
  new S3Store({ bucket: 'bkt', endpoint: url, forcePathStyle: true, accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' });

/** A GET of /bkt/k through the handler itself, without the SDK: to see what it does with a response the SDK would hide. */
function directGet(url: string, idleTimeoutMs: number) {
  const { port } = new URL(url);
  const handler = new BulkGetHandler({
    fallback: new NodeHttpHandler(),
    rejectUnauthorized: true,
    connectionTimeoutMs: 5_000,
    idleTimeoutMs,
    pool: new ReadBufferPool(),
  });
  const headers = { host: `127.0.0.1:${port}` };
  return handler.handle(
    new HttpRequest({ protocol: 'http:', hostname: '127.0.0.1', port: Number(port), method: 'GET', path: '/bkt/k', headers }),
  );
}

async function chunksOf(stream: Readable): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return chunks;
}

describe('S3 bulk reads (decision 0024)', () => {
  let server: Endpoint | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('reads an object into whole 1 MiB buffers that own their memory, with a signed GET', async () => {
    const body = randomBytes(3 * MiB + 12_345);
    server = await endpoint(serve(body));
    const chunks = await chunksOf(await storeFor(server.url).createReadStream('dir/object.bin'));
    expect(Buffer.concat(chunks).equals(body)).to.equal(true);
    expect(chunks.map((c) => c.length)).to.deep.equal([MiB, MiB, MiB, 12_345]);
    expect(chunks.slice(0, 3).every(ownsItsMemory)).to.equal(true);
    const [request] = server.requests;
    expect(request.method).to.equal('GET');
    expect(request.url).to.match(/^\/bkt\/dir\/object\.bin(\?|$)/);
    expect(request.headers.authorization).to.match(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\//);
    expect(request.headers.connection).to.equal('close');
  });

  it('reads from an offset with a Range request, and an empty object as no bytes', async () => {
    const body = randomBytes(2 * MiB);
    server = await endpoint(serve(body));
    const store = storeFor(server.url);
    expect(Buffer.concat(await chunksOf(await store.createReadStream('k', { start: MiB + 7 }))).equals(body.subarray(MiB + 7))).to.equal(
      true,
    );
    expect(server.requests[0].headers.range).to.equal(`bytes=${MiB + 7}-`);
    await server.close();
    server = await endpoint(serve(Buffer.alloc(0)));
    expect(await chunksOf(await storeFor(server.url).createReadStream('empty'))).to.deep.equal([]);
  });

  it('hands a chunked response to Node’s HTTP client, which sends the request again', async () => {
    const body = randomBytes(MiB + 3);
    server = await endpoint((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' }); // no length: Node sends it chunked
      res.write(body.subarray(0, 1000));
      res.end(body.subarray(1000));
    });
    expect(Buffer.concat(await chunksOf(await storeFor(server.url).createReadStream('k'))).equals(body)).to.equal(true);
    expect(server.requests).to.have.length(2);
  });

  it('leaves error responses to the SDK: a missing key is not-found, a refused key is auth', async () => {
    server = await endpoint((req, res) => {
      const [status, code] = req.url!.startsWith('/bkt/missing') ? [404, 'NoSuchKey'] : [403, 'InvalidAccessKeyId'];
      const xml = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>no</Message></Error>`;
      res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) });
      res.end(xml);
    });
    const store = storeFor(server.url);
    const missing = await store.createReadStream('missing').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(missing).to.be.instanceOf(ObjectStoreError);
    expect((missing as ObjectStoreError).failure).to.equal('not-found');
    const refused = await store.createReadStream('refused').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((refused as ObjectStoreError).failure).to.equal('auth');
    expect((refused as Error).message).to.not.contain('not-a-secret');
  });

  it('fails a body cut short as a network error naming the bytes received, and resumableRead resumes from there', async () => {
    const body = randomBytes(3 * MiB);
    server = await endpoint((req, res, nth) => {
      if (nth > 2) return serve(body)(req, res); // the first two (one per read below) are cut
      res.writeHead(200, { 'content-length': body.length });
      res.write(body.subarray(0, MiB + 100), () => res.socket?.destroy());
    });
    const store = storeFor(server.url);
    const error = await chunksOf(await store.createReadStream('k')).then(
      () => undefined,
      (e: unknown) => e as NodeJS.ErrnoException,
    );
    expect(error?.message).to.match(/ended after \d+ of 3145728 bytes/);
    expect(error?.code).to.equal('ECONNRESET');
    const resumed = Buffer.concat(await chunksOf(resumableRead(store, 'k')));
    expect(resumed.equals(body)).to.equal(true);
    expect(server.requests.at(-1)!.headers.range).to.match(/^bytes=\d+-$/);
  });

  it('reads a response whose headers are named like Object properties, and a 304 as no body', async () => {
    const body = randomBytes(1000);
    server = await endpoint((req, res) => {
      res.setHeader('__proto__', 'polluted');
      res.setHeader('constructor', 'x');
      return serve(body)(req, res);
    });
    expect(Buffer.concat(await chunksOf(await storeFor(server.url).createReadStream('k'))).equals(body)).to.equal(true);
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    await server.close();
    server = await endpoint((_req, res) => {
      res.writeHead(304, { 'content-length': 5 });
      res.end();
    });
    const { response } = await directGet(server.url, 2_000);
    expect(response.statusCode).to.equal(304);
    expect(await chunksOf(response.body as Readable)).to.deep.equal([]);
  });

  it('times out a server that accepts the request and never answers', async () => {
    server = await endpoint(() => undefined);
    const error = await directGet(server.url, 300).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.name).to.equal('TimeoutError');
    expect(error?.message).to.contain('sent nothing for 300 ms');
  });

  it('a pool gives back the buffers it was given, and drops buffers of another size', () => {
    const pool = new ReadBufferPool(2);
    const a = pool.take();
    expect(a.length).to.equal(READ_BUFFER_BYTES);
    expect(ownsItsMemory(a)).to.equal(true);
    pool.give(a);
    pool.give(Buffer.allocUnsafeSlow(1000));
    expect(pool.take()).to.equal(a);
    expect(pool.take()).to.not.equal(a);
  });
});
