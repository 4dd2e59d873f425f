import { createGunzip, createGzip, constants as zlibConstants } from 'node:zlib';
import { PassThrough, type Transform } from 'node:stream';
import { CompressStream } from 'zstd-napi';
import { ZstdDecompressStream } from './zstd-decompress.js';
import { DEFAULT_LEVELS, MAX_LEVELS, type CompressionAlgorithm } from '../../contracts/compression.js';

export { DEFAULT_LEVELS, MAX_LEVELS, type CompressionAlgorithm };

export interface CompressionOptions {
  readonly algorithm: CompressionAlgorithm;
  /** gzip 1-9, zstd 1-19. Defaults to the codec's fast setting. */
  readonly level?: number;
  /** zstd worker threads; 0 compresses on the calling thread. Defaults to 2 (the worker has 2 cores). */
  readonly zstdWorkers?: number;
}

/** zstd worker threads unless asked otherwise: the worker's and the database pod's 2 cores. */
export const DEFAULT_ZSTD_WORKERS = 2;

/**
 * zstd runs in-process through zstd-napi (multithreaded streaming, bundled
 * sources); Node 20's zlib has no zstd. gzip uses zlib.
 */
export function createCompressor(options: CompressionOptions): Transform {
  switch (options.algorithm) {
    case 'none':
      return new PassThrough();
    case 'gzip':
      return createGzip({ level: options.level ?? DEFAULT_LEVELS.gzip, chunkSize: 256 * 1024 });
    case 'zstd':
      return new CompressStream({
        compressionLevel: options.level ?? DEFAULT_LEVELS.zstd,
        nbWorkers: options.zstdWorkers ?? DEFAULT_ZSTD_WORKERS,
        // A frame checksum makes a corrupted frame fail at decompression, even for a reader without our SHA256.
        checksumFlag: true,
      }) as unknown as Transform;
    default:
      throw new Error(`unknown compression algorithm "${String(options.algorithm)}"; use none, gzip or zstd`);
  }
}

export function createDecompressor(algorithm: CompressionAlgorithm): Transform {
  switch (algorithm) {
    case 'none':
      return new PassThrough();
    case 'gzip':
      return createGunzip({ chunkSize: 256 * 1024, finishFlush: zlibConstants.Z_SYNC_FLUSH });
    case 'zstd':
      return new ZstdDecompressStream();
    default:
      throw new Error(`unknown compression algorithm "${String(algorithm)}"; use none, gzip or zstd`);
  }
}
