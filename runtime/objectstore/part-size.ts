/**
 * Multipart part sizing. S3 allows 10,000 parts of 5 MiB to 5 GiB. Parts are
 * buffered in memory (so each can be retried), which makes part size the
 * memory cost. See docs/decisions/0008-multipart-part-size.md.
 */
export const MiB = 1024 * 1024;
export const MAX_PARTS = 10_000;
export const BASE_PART_SIZE = 8 * MiB;
const MAX_PART_SIZE = 5 * 1024 * MiB;
/** Parts at the base size before growth starts: 4,000 × 8 MiB = 31.25 GiB at flat memory. */
const FLAT_PARTS = 4_000;
/** Linear growth per part after FLAT_PARTS, chosen so part 10,000 ends past 5 TiB. */
const GROWTH_PER_PART = 296 * 1024;
/** With a size hint, the parts it was sized for; the rest absorb a hint that was too low. */
const HINTED_PARTS = 9_500;

/** Size of part `partNumber` (1-based). With a size hint, every part has the same size. */
export function partSize(partNumber: number, expectedBytes?: number): number {
  if (expectedBytes && expectedBytes > 0) {
    const even = Math.min(Math.max(Math.ceil((expectedBytes * 1.05) / HINTED_PARTS / MiB) * MiB, BASE_PART_SIZE), MAX_PART_SIZE);
    if (partNumber <= HINTED_PARTS) return even;
    // The stream outgrew its hint (a database that grew during the backup): double every 100 parts,
    // so the last 500 parts hold 6,200 hinted parts (the stream may reach 1.6× the hint) instead of failing at part 10,001.
    return Math.min(even * 2 ** Math.ceil((partNumber - HINTED_PARTS) / 100), MAX_PART_SIZE);
  }
  if (partNumber <= FLAT_PARTS) return BASE_PART_SIZE;
  return Math.min(BASE_PART_SIZE + (partNumber - FLAT_PARTS) * GROWTH_PER_PART, MAX_PART_SIZE);
}

/** Bytes that parts 1..n hold, for tests and docs. */
export function capacityOfParts(n: number, expectedBytes?: number): number {
  let total = 0;
  for (let i = 1; i <= n; i++) total += partSize(i, expectedBytes);
  return total;
}
