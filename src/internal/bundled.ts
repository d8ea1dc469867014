/**
 * Built dist/ holds its modules' code in a few bundles behind one-line facades
 * (scripts/bundle-dist.mjs), each bundle noting under this symbol, as it loads, which modules it
 * holds. A worker or a child process told to import the bundles loads a few files where it
 * loaded a facade per module that registers shared kinds: each module costs a loader a
 * resolution, a file read and a link, about 0.7 ms of CPU apiece (the threading-thread-start
 * bench). Run from the TypeScript sources, nothing is noted and the URLs stay as they are.
 */
const BUNDLED_AT = Symbol.for('weft.bundledAt');

/** `urls` with each bundled module's URL replaced by its bundle's, once each, in order. */
export function codeUrls(urls: string[]): string[] {
  const at = (globalThis as { [BUNDLED_AT]?: Map<string, string> })[BUNDLED_AT];
  return at === undefined ? urls : [...new Set(urls.map((u) => at.get(u) ?? u))];
}
