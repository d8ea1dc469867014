/**
 * The lessons of `examples/`: files named `NN-slug.ts`, in the order of their numbers, each
 * default-exporting a lesson (see examples/lesson.ts). Shared by `tour`, `lessons` and `run`.
 */
import { readdirSync } from 'node:fs';
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
