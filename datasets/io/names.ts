/** Numeric-aware order so `frame_10` follows `frame_9` even without zero padding. */
export function compareNames(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
