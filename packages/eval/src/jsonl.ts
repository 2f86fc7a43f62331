import { EvalDataError } from './errors.js';

/** One JSON value of a JSONL file and the 1-based line it is on. */
export interface JsonLine {
  readonly line: number;
  readonly value: unknown;
}

/**
 * The records of a JSONL text: one JSON value per line; blank lines are skipped (M3CoT's
 * `read_jsonl` skips them too). A line that is not JSON is an {@link EvalDataError} naming the
 * file and line (M3CoT's `read_jsonl` prints "Error in line" and drops it; a half-written line
 * here means the file is damaged, so it is not scored silently).
 */
export function parseJsonl(text: string, file: string): JsonLine[] {
  const out: JsonLine[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === '') continue;
    try {
      out.push({ line: i + 1, value: JSON.parse(raw) });
    } catch (error) {
      throw new EvalDataError(`${file} line ${i + 1} is not JSON (${(error as Error).message}).`, {
        hint: i === lines.length - 1 || (i === lines.length - 2 && lines[i + 1] === '') ? 'The last line looks cut off (an interrupted write): remove it, or rerun the samples it held.' : 'Each line of a JSONL file must be one JSON object; fix or remove that line.',
        location: { file, line: i + 1 },
      });
    }
  }
  return out;
}

/** Parse a whole-file JSON text, naming the file when it is not JSON. */
export function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new EvalDataError(`${file} is not JSON (${(error as Error).message}).`, { hint: 'Use the file as published, unmodified.', location: { file } });
  }
}

/** Whether `value` is a plain JSON object. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether `value` is an array of strings. */
export function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

/** A record id as text: a string as it is, an integer in decimal (LLaVA question ids, ScienceQA pids written as numbers). */
export function idText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isInteger(value)) return String(value);
  return undefined;
}
