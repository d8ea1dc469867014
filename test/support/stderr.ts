/** Test helper: what a synchronous `fn` writes to stderr (not passed on to it). */
export function stderrOf(fn: () => void): string {
  const write = process.stderr.write;
  let text = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    text += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    fn();
  } finally {
    process.stderr.write = write;
  }
  return text;
}
