/**
 * Bounded names for every group: Kubernetes label values and most generated
 * names must fit in 63 characters (object names in 253), so long bases are cut
 * and given a short hash of the whole base to stay unique.
 */
import { createHash } from 'node:crypto';

/** The label every object Silo creates carries. */
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'silo' } as const;

/** The first `length` hex characters of the SHA-256 of `text`. */
export const shortHash = (text: string, length = 8): string => createHash('sha256').update(text).digest('hex').slice(0, length);

/** The first `length` characters of `text`, without a trailing `-` or `.`, so a DNS label stays one. */
export const cutName = (text: string, length: number): string => text.slice(0, length).replace(/[-.]+$/, '');

/**
 * `base-suffix`, cut to `max` characters. When the base must be cut, a hash of
 * the full base keeps distinct long names distinct. Always a valid DNS label
 * when base and suffix are.
 */
export function boundedName(base: string, suffix: string, max = 63): string {
  const tail = suffix ? `-${suffix}` : '';
  const full = `${base}${tail}`;
  if (full.length <= max) return full;
  const hash = shortHash(base);
  const keep = Math.max(1, max - tail.length - hash.length - 1);
  return `${cutName(base, keep)}-${hash}${tail}`;
}

/** A label value (≤ 63 characters) that still identifies a longer object name. */
export const labelValue = (name: string): string => boundedName(name, '', 63);

/**
 * The name itself when it fits in `max` characters and is a DNS label (no
 * dots), else its first characters plus a hash of the whole name, so two long
 * names that share a beginning, or "a.b" and "a-b", still differ. Always a DNS label.
 */
export function fitName(name: string, max = 63): string {
  const label = name.replace(/\./g, '-');
  if (label.length <= max && label === name) return name;
  return `${label.slice(0, max - 9).replace(/[^a-z0-9]+$/, '')}-${shortHash(name)}`;
}
