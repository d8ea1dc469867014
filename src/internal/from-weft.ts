/**
 * `specifier` resolved as weft's own modules resolve it (ts-loader.ts: where tsx is, next to weft
 * rather than next to the program). A module of its own because import.meta.resolve is what a
 * bundled module lacks (scripts/bundle-dist.mjs): ts-loader.ts and what imports it can then be
 * bundled, while this file stays as tsc wrote it, at its own path.
 */
export function resolveFromWeft(specifier: string): string {
  return import.meta.resolve(specifier);
}
