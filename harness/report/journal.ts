/**
 * Reading a run's journal (reports/<run-id>/events.jsonl, one JSON event per line, appended as
 * the run goes) to rebuild its reports. A last line cut short by a crash is dropped with a
 * warning (the journal is append-only, so only the last line can be torn); any other bad line is
 * an error naming the file and line. A journal written by a newer lab is refused.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { LabError } from '../errors.js';
import { JOURNAL_VERSION, type LabEvent } from '../lab/events.js';

export const JOURNAL_FILE = 'events.jsonl';

export interface Journal {
  file: string;
  events: LabEvent[];
  warnings: string[];
}

function label(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') ? rel : file;
}

export function parseJournal(text: string, file: string): Journal {
  const name = label(file);
  const lines = text.split('\n');
  const events: LabEvent[] = [];
  const warnings: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      const last = lines.slice(i + 1).every((l) => l.trim() === '');
      if (last && !text.endsWith('\n')) {
        warnings.push(`${name}:${i + 1}: the last line is cut short (the run stopped while writing it) and was left out`);
        continue;
      }
      throw new LabError('journal', `${name}:${i + 1}: not a JSON event (${e instanceof Error ? e.message : String(e)}); the journal is damaged: rebuild from a copy, or delete the line`);
    }
    if (typeof value !== 'object' || value === null || typeof (value as { type?: unknown }).type !== 'string') {
      throw new LabError('journal', `${name}:${i + 1}: not an event (an object with a "type"); is this a run journal?`);
    }
    const e = value as LabEvent;
    if (e.type === 'run.started' && typeof e.journalVersion === 'number' && e.journalVersion > JOURNAL_VERSION) {
      throw new LabError('journal', `${name}: journal version ${e.journalVersion} is newer than this lab's ${JOURNAL_VERSION} (update the lab to read it)`);
    }
    events.push(e);
  }
  return { file, events, warnings };
}

export function readJournal(file: string): Journal {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new LabError('journal', `${label(file)}: cannot read the run journal (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  }
  return parseJournal(text, file);
}

/**
 * Where a run's journal is: `ref` is a run id (reports/<id>/events.jsonl), a run directory, or the
 * path of an events.jsonl.
 */
export function locateJournal(ref: string, reportsDir: string): { file: string; runDir: string } {
  if (existsSync(ref)) {
    const st = statSync(ref);
    if (st.isFile()) return { file: path.resolve(ref), runDir: path.dirname(path.resolve(ref)) };
    if (st.isDirectory() && existsSync(path.join(ref, JOURNAL_FILE))) return { file: path.resolve(ref, JOURNAL_FILE), runDir: path.resolve(ref) };
  }
  const byId = path.join(reportsDir, ref, JOURNAL_FILE);
  if (/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(ref) && existsSync(byId)) return { file: path.resolve(byId), runDir: path.resolve(reportsDir, ref) };
  throw new LabError('usage', `no run "${ref}": ${label(byId)} does not exist (give a run id under ${label(reportsDir) || '.'}, a run directory, or the path of an events.jsonl)`);
}
