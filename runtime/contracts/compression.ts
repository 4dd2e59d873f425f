/**
 * The codecs a backup stream may be stored with, and their level ranges: shared by the worker's env
 * (SILO_COMPRESSION), the instance manager's query (`compression`, `level`), metadata.json's
 * `codec.compression` and the in-process codecs (runtime/datapath/stages/compression.ts).
 */
export type CompressionAlgorithm = 'none' | 'gzip' | 'zstd';

export const COMPRESSION_ALGORITHMS: readonly CompressionAlgorithm[] = ['none', 'gzip', 'zstd'];

export const DEFAULT_LEVELS: Record<Exclude<CompressionAlgorithm, 'none'>, number> = { gzip: 6, zstd: 1 };
/** The highest level each codec accepts (zstd's 20–22 need long windows that a restore would have to allow). */
export const MAX_LEVELS: Record<Exclude<CompressionAlgorithm, 'none'>, number> = { gzip: 9, zstd: 19 };
