import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { Storage } from '@google-cloud/storage';
import { expect } from 'chai';
import { GCS_BUCKET, GCS_PROJECT } from '../../stack/components/gcs.js';
import { useStack } from '../../stack/mocha.js';

const stack = useStack('gcs');

describe('GCS (fake-gcs-server) round trip', function () {
  this.timeout(30_000);
  const prefix = `roundtrip-${Date.now()}/`;
  const bucket = () => new Storage({ apiEndpoint: stack.env().GCS_ENDPOINT, projectId: GCS_PROJECT }).bucket(GCS_BUCKET);

  it('puts, gets and lists objects under a prefix', async () => {
    const body = randomBytes(200_000);
    await bucket().file(`${prefix}a.bin`).save(body, { resumable: false });
    await bucket().file(`${prefix}b.txt`).save('hello', { resumable: false });
    const [got] = await bucket().file(`${prefix}a.bin`).download();
    expect(got.equals(body)).to.equal(true);
    const [files] = await bucket().getFiles({ prefix });
    expect(files.map((f) => f.name).sort()).to.deep.equal([`${prefix}a.bin`, `${prefix}b.txt`]);
  });

  it('takes a resumable streaming upload (how workers will write)', async () => {
    const chunks = [randomBytes(3 * 1024 * 1024), randomBytes(1_000_001)];
    const file = bucket().file(`${prefix}stream.bin`);
    await pipeline(Readable.from(chunks), file.createWriteStream({ resumable: true, validation: false }));
    const [got] = await file.download();
    expect(got.equals(Buffer.concat(chunks))).to.equal(true);
  });
});
