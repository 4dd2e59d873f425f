import { MAX_LEVELS, type CompressionOptions } from '../datapath/stages/compression.js';

/**
 * `GET /cluster/backup?compression=zstd&level=1`: how the worker asks the instance manager to
 * compress before TLS (decision 0014). No parameter means none, which is what an older worker expects.
 */
export function compressionFromQuery(params: URLSearchParams): { options: CompressionOptions } | { error: string } {
  const algorithm = params.get('compression') ?? 'none';
  if (algorithm !== 'none' && algorithm !== 'gzip' && algorithm !== 'zstd') {
    return { error: `compression must be none, gzip or zstd (got "${algorithm.slice(0, 40)}")` };
  }
  const levelParam = params.get('level');
  if (levelParam === null || algorithm === 'none') return { options: { algorithm } };
  const level = Number(levelParam);
  if (!/^\d+$/.test(levelParam) || level < 1 || level > MAX_LEVELS[algorithm]) {
    return { error: `level must be an integer from 1 to ${MAX_LEVELS[algorithm]} for ${algorithm} (got "${levelParam.slice(0, 40)}")` };
  }
  return { options: { algorithm, level } };
}
