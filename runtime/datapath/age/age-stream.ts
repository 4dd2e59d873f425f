import { CryptoThreadStage } from '../threads/crypto-thread-stage.js';

/**
 * age v1 STREAM encryption and decryption on node:crypto's ChaCha20-Poly1305
 * (docs/decisions/0007-age-on-node-crypto.md), run on a worker thread
 * (docs/decisions/0012-age-and-sha256-on-a-worker-thread.md). The header is
 * built and parsed on the calling thread; the 64 KiB payload chunks are sealed
 * and opened on the thread.
 */
export class AgeEncryptStream extends CryptoThreadStage {
  constructor(recipients: string[]) {
    super({ recipients });
  }
}

export class AgeDecryptStream extends CryptoThreadStage {
  /** @param identityText contents of an age identity file; never logged. */
  constructor(identityText: string) {
    super({ identity: identityText });
  }
}
