import { createServer } from 'node:http';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { storeProcessEnv, workerProcessEnv } from './test/support/worker-store-env.js';
const args = process.argv.slice(2);
const rounds = Number(process.env.ROUNDS ?? 10);
writeFileSync('/tmp/scratch-id.txt', 'AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX\n');
const times: number[] = [];
for (let i = 0; i < rounds; i++) {
  let t0 = 0n;
  const first = new Promise<number>((resolve) => {
    const srv = createServer((req, res) => { resolve(Number(process.hrtime.bigint() - t0) / 1e6); res.statusCode = 500; res.end(); srv.close(); });
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as any).port;
      const env = { ...process.env, ...storeProcessEnv({ type: 's3', bucket: 'b', endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true, accessKeyId: { value: 'a' }, secretAccessKey: { value: 'bbbbbbbb' } }),
        ...workerProcessEnv({ metadataKey: 'x/metadata.json', ageIdentity: { file: '/tmp/scratch-id.txt' } } as any), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', SILO_LOG_LEVEL: 'warn', AWS_MAX_ATTEMPTS: '1', PORT: String(port) };
      t0 = process.hrtime.bigint();
      const c = spawn(args[0], args.slice(1), { env, stdio: 'ignore' });
      c.on('exit', () => {});
    });
  });
  times.push(await first);
  await new Promise((r) => setTimeout(r, 300));
}
times.sort((a, b) => a - b);
console.log('first request ms: median', times[Math.floor(times.length / 2)].toFixed(1), 'min', times[0].toFixed(1), 'all', times.map((t) => t.toFixed(0)).join(' '));
process.exit(0);
