/**
 * The lessons of `examples/`: files named `NN-slug.ts`, in the order of their numbers, each
 * default-exporting a lesson (see examples/lesson.ts). Shared by `tour`, `lessons` and `run`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type CliContext, CliError } from './command.js';

/** The shape of examples/lesson.ts, restated: the CLI is compiled without examples/. */
export interface Lesson {
  title: string;
  shows: string;
  module: string;
  main(options: { quick: boolean; log: (...parts: unknown[]) => void }): Promise<void>;
}

export interface LessonFile {
  /** `01`, `10`, … */
  number: string;
  /** `01-generators-round-robin` */
  id: string;
  path: string;
}

const LESSON_FILE = /^(\d{2,})-[\w-]+\.ts$/;

export function listLessonFiles(context: CliContext): LessonFile[] {
  const dir = join(context.root, 'examples');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    throw new CliError(`no lessons here: ${dir} does not exist`);
  }
  return names
    .filter((n) => LESSON_FILE.test(n))
    .sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10) || a.localeCompare(b))
    .map((n) => ({
      number: n.match(LESSON_FILE)![1]!,
      id: basename(n, '.ts'),
      path: join(dir, n),
    }));
}

/**
 * The lessons a filter names: its number (`10`, `1` for 01), a part of its file name
 * (`gevent`) or its path (`examples/10-gevent-sleep.ts`). No filter: all of them. A filter that names none is an error that lists them.
 */
export function selectLessons(files: LessonFile[], filters: string[]): LessonFile[] {
  if (filters.length === 0) return files;
  const chosen = new Set<LessonFile>();
  for (const f of filters) {
    // A path as the shell completes it (examples/10-gevent-sleep.ts) names its lesson too.
    const wanted = basename(f.trim(), '.ts').toLowerCase();
    // An empty part of a name is in every name: `weft tour "$LESSON"` with LESSON unset would
    // run every lesson instead of saying that none was named.
    if (wanted === '') {
      throw new CliError(
        `an empty lesson name names no lesson. The lessons are:\n${files.map((l) => `  ${l.id}`).join('\n')}`,
      );
    }
    const matches = files.filter((l) =>
      /^\d+$/.test(wanted)
        ? Number.parseInt(l.number, 10) === Number.parseInt(wanted, 10)
        : l.id.toLowerCase().includes(wanted),
    );
    if (matches.length === 0) {
      throw new CliError(
        `no lesson matches "${f}". The lessons are:\n${files.map((l) => `  ${l.id}`).join('\n')}`,
      );
    }
    for (const m of matches) chosen.add(m);
  }
  return files.filter((l) => chosen.has(l));
}

export function requireTypeScript(context: CliContext, what: string): void {
  if (!context.typescript) {
    throw new CliError(
      `${what} needs tsx: the lessons and benchmarks are TypeScript files. Run it from a ` +
        'checkout of weft after `npm ci` (tsx is one of its devDependencies).',
    );
  }
}

export async function loadLesson(file: LessonFile): Promise<Lesson> {
  const mod = (await import(pathToFileURL(file.path).href)) as { default?: Partial<Lesson> };
  const l = mod.default;
  if (
    !l ||
    typeof l.main !== 'function' ||
    typeof l.title !== 'string' ||
    typeof l.shows !== 'string'
  ) {
    throw new CliError(`${file.id}.ts does not default-export a lesson (defineLesson({...}))`);
  }
  return l as Lesson;
}

/** What `weft lessons` lists of a lesson. */
export type LessonHeading = Pick<Lesson, 'title' | 'module'>;

/**
 * The title and module of a lesson, read from its file when it states them plainly (see
 * readLessonHeading), else from the lesson it default-exports: `weft lessons` need not import
 * every lesson, and with them most of weft, to list them.
 */
export async function lessonHeading(file: LessonFile): Promise<LessonHeading> {
  return readLessonHeading(readFileSync(file.path, 'utf8')) ?? (await loadLesson(file));
}

const PLAIN_STRING = /^(?:'([^'\\\n]*)'|"([^"\\\n]*)")$/;

/**
 * The title and module a lesson's source states, without running it; null unless it has the
 * form every lesson of examples/ has (as biome formats it), which leaves no doubt:
 *
 *     const lesson = defineLesson({
 *       title: 'One line, a plain quoted string',
 *       shows: …,
 *       module: 'asyncio',
 *       async main(…) { … },
 *     });
 *     export default lesson;
 *
 * that is: one `const <name> = defineLesson({` line, whose object ends at the first `});` line
 * after it, `export default <name>;`; among the object's own lines (those indented by exactly
 * two spaces, where each of its properties starts) no spread and no key it cannot name, `title`
 * and `module` each once as `key: 'a quoted string with no escape',` alone on its line, and
 * `shows` and `main` each once (loadLesson requires them). Anything else (a title built from
 * parts or on the next line, a getter, a computed key) gives null, and the caller imports the
 * lesson instead. test/cli/startup.test.ts checks that every lesson of examples/ is
 * read here, and as its import says.
 */
export function readLessonHeading(source: string): LessonHeading | null {
  const lines = source.split(/\r?\n/);
  const starts = lines.flatMap((line, i) => {
    const m = /^const (\w+) = defineLesson\(\{$/.exec(line);
    return m ? [{ at: i, name: m[1]! }] : [];
  });
  if (starts.length !== 1) return null;
  const { at, name } = starts[0]!;
  const end = lines.findIndex((line, i) => i > at && line === '});');
  if (end < 0 || !lines.includes(`export default ${name};`)) return null;
  /** Each key of the object: the lines where it is given. */
  const given = new Map<string, string[]>();
  for (const line of lines.slice(at + 1, end)) {
    const own = /^ {2}(\S.*)$/.exec(line)?.[1];
    // Deeper lines belong to a property; a closing bracket or a comment at this depth too.
    if (own === undefined || /^[)\]}]|^\/[/*]/.test(own)) continue;
    const key = /^(?:(?:get|set|async)\s+)?\*?\s*(?:(\w+)|'([^'\\]*)'|"([^"\\]*)")\s*[:(,]/.exec(
      own,
    );
    if (key === null) return null;
    const k = (key[1] ?? key[2] ?? key[3])!;
    given.set(k, [...(given.get(k) ?? []), own]);
  }
  const once = (key: string): string | null => {
    const list = given.get(key);
    return list?.length === 1 ? list[0]! : null;
  };
  const plain = (key: string): string | null => {
    const m = new RegExp(`^${key}: (.*),$`).exec(once(key) ?? '');
    const literal = m ? PLAIN_STRING.exec(m[1]!) : null;
    return literal ? (literal[1] ?? literal[2])! : null;
  };
  const title = plain('title');
  const module = plain('module');
  if (title === null || module === null || once('shows') === null || once('main') === null) {
    return null;
  }
  return { title, module };
}
