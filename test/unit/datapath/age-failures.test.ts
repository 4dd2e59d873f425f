// Issue 13's failure surfaces of an encrypted restore: damaged stored data (a flipped byte in a
// payload chunk, or in the header of a file sealed to this identity) against a wrong identity and a
// missing one. Each ends in its own error type and failure class, so the controller can say which.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { EXIT } from '../../../runtime/contracts/worker-result.js';
import { AgeDataDamagedError, AgeIdentityMismatchError, AgeKeyError, generateAgeKeyPair } from '../../../runtime/datapath/age/age-keys.js';
import { recipientFingerprint } from '../../../runtime/datapath/backup-metadata.js';
import { streamBackup } from '../../../runtime/datapath/backup-pipeline.js';
import { preflightChain, type ChainLink } from '../../../runtime/datapath/recovery/chain.js';
import { StoredDataDamagedError, streamRestore } from '../../../runtime/datapath/restore-pipeline.js';
import { ProcessSink } from '../../../runtime/datapath/sinks/process-sink.js';
import { ProcessSource } from '../../../runtime/datapath/sources/process-source.js';
import { createLogger } from '../../../runtime/logging/logger.js';
import { FilesystemStore } from '../../../runtime/objectstore/fs-store.js';
import { classifyFailure } from '../../../runtime/workers/exit-codes.js';

const logger = createLogger({}, { write: () => undefined });

describe('age failures of a restore: damaged data, a wrong identity, a missing identity', () => {
  let dir: string;
  let store: FilesystemStore;
  let link: ChainLink;
  const owner = generateAgeKeyPair();
  const stranger = generateAgeKeyPair();

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'silo-agefail-'));
    store = new FilesystemStore(join(dir, 'store'));
    writeFileSync(join(dir, 'input'), randomBytes(400_000));
    const result = await streamBackup({
      source: new ProcessSource({ command: 'cat', args: [join(dir, 'input')], logger }),
      store,
      key: 'b/data',
      compression: { algorithm: 'none' },
      recipients: [owner.recipient],
    });
    link = {
      key: 'b/data',
      sha256: result.sha256,
      compression: 'none',
      backupId: '20261201T000000Z',
      storedBytes: result.storedBytes,
      encrypted: true,
      recipientFingerprints: [recipientFingerprint(owner.recipient)],
    };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const flip = (at: (bytes: Buffer) => number) => {
    const path = join(dir, 'store/b/data');
    const bytes = readFileSync(path);
    bytes[at(bytes)] ^= 0x01;
    writeFileSync(path, bytes);
  };

  /** Changes one base64 character of the header into another valid one (a flipped bit may leave the alphabet). */
  const substitute = (at: (bytes: Buffer) => number) => {
    const path = join(dir, 'store/b/data');
    const bytes = readFileSync(path);
    const i = at(bytes);
    bytes[i] = bytes[i] === 0x41 ? 0x42 : 0x41;
    writeFileSync(path, bytes);
  };

  const restore = (identity: string | undefined) =>
    streamRestore({
      store,
      key: link.key,
      expectedSha256: link.sha256,
      compression: 'none',
      identity,
      recipientFingerprints: link.recipientFingerprints,
      sink: new ProcessSink('sh', ['-c', `cat > '${join(dir, 'out')}'`], { logger }),
    }).then(
      () => undefined,
      (error: Error) => error,
    );

  it('restores the genuine object with the right identity', async () => {
    expect(await restore(owner.identity)).to.equal(undefined);
    expect(readFileSync(join(dir, 'out')).equals(readFileSync(join(dir, 'input')))).to.equal(true);
  });

  it('a flipped byte in a payload chunk is stored data damaged (checksumMismatch), not a decryption failure', async () => {
    flip((bytes) => bytes.length - 150_000);
    const error = await restore(owner.identity);
    expect(error).to.be.instanceOf(StoredDataDamagedError);
    expect(error!.message).to.equal(
      'the stored bytes of b/data are damaged: age payload failed authentication: the file was modified; nothing was restored',
    );
    expect(classifyFailure(error)).to.equal('checksumMismatch');
    expect(EXIT[classifyFailure(error)]).to.equal(6);
  });

  it('a wrong identity is a decryption failure: the header does not open', async () => {
    const error = await restore(stranger.identity);
    expect(error).to.be.instanceOf(AgeIdentityMismatchError);
    expect(error).to.not.be.instanceOf(AgeDataDamagedError);
    expect(classifyFailure(error)).to.equal('decryption');
    expect(EXIT[classifyFailure(error)]).to.equal(12);
    // The preflight says the same before any download.
    const early = await preflightChain(store, [link], stranger.identity).catch((e: Error) => e);
    expect(early).to.be.instanceOf(AgeIdentityMismatchError);
    expect((early as Error).message).to.equal(
      'backup 20261201T000000Z: no age identity matches this file: it was encrypted to other recipients',
    );
  });

  it('a missing identity for an encrypted backup is a decryption failure, found before any download', async () => {
    const error = await preflightChain(store, [link], undefined).catch((e: Error) => e);
    expect(error).to.be.instanceOf(AgeKeyError);
    expect((error as Error).message).to.equal(
      'backup 20261201T000000Z is age-encrypted but no identity was given; mount the age identity Secret (SILO_AGE_IDENTITY or SILO_AGE_IDENTITY_FILE)',
    );
    expect(classifyFailure(error)).to.equal('decryption');
  });

  it("a flipped byte in the header's stanza: damaged when metadata.json names the identity's recipient, a wrong key when it names none", async () => {
    // The X25519 stanza's body is the line after "-> X25519 <share>".
    substitute((bytes) => bytes.indexOf('\n', bytes.indexOf('-> X25519')) + 5);
    const damaged = await preflightChain(store, [link], owner.identity).catch((e: Error) => e);
    expect(damaged).to.be.instanceOf(AgeDataDamagedError);
    expect(classifyFailure(damaged)).to.equal('checksumMismatch');
    const unknown = await preflightChain(store, [{ ...link, recipientFingerprints: undefined }], owner.identity).catch((e: Error) => e);
    expect(unknown).to.be.instanceOf(AgeIdentityMismatchError);
    expect(classifyFailure(unknown)).to.equal('decryption');
  });

  it('a flipped byte in the header MAC is damage, with the identity that opens it', async () => {
    flip((bytes) => bytes.indexOf('--- ') + 6);
    const error = await restore(owner.identity);
    expect(error).to.be.instanceOf(StoredDataDamagedError);
    expect(classifyFailure(error)).to.equal('checksumMismatch');
  });

  it('a truncated object is refused by its size before any download', async () => {
    const path = join(dir, 'store/b/data');
    writeFileSync(path, readFileSync(path).subarray(0, 300_000));
    const error = await preflightChain(store, [link], owner.identity).catch((e: Error) => e);
    expect(error).to.be.instanceOf(StoredDataDamagedError);
    expect((error as Error).message).to.match(/is 300000 bytes, metadata.json records \d+; it was truncated or replaced/);
    expect(classifyFailure(error)).to.equal('checksumMismatch');
  });
});
