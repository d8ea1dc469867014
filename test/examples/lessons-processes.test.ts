// The lessons of one group (see lessons.ts for why the groups have files of their own).
import { lessonTests } from './lessons.js';

lessonTests('processes');
