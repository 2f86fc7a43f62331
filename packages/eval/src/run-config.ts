/**
 * Comparing the configuration of a run with the one its output folder already records, so that a
 * resumed (or parallel) process never mixes results of different configurations.
 * @module
 */

/** One field that differs: its dotted path and both values. */
export interface ConfigDifference {
  /** e.g. `description.sampling.temperature`, `modelFiles[3].sha256`. */
  readonly path: string;
  readonly recorded: unknown;
  readonly requested: unknown;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The fields in which two JSON values differ, as dotted paths (`a.b[2].c`), depth first, object keys
 * in sorted order; a missing key and `undefined` are the same. Paths in `ignore` (exact, or a
 * prefix followed by `.` or `[`) are skipped.
 */
export function diffConfigurations(recorded: unknown, requested: unknown, ignore: readonly string[] = []): ConfigDifference[] {
  const out: ConfigDifference[] = [];
  const skipped = (path: string): boolean => ignore.some((p) => path === p || path.startsWith(`${p}.`) || path.startsWith(`${p}[`));
  const walk = (a: unknown, b: unknown, path: string): void => {
    if (path && skipped(path)) return;
    if (isPlainObject(a) && isPlainObject(b)) {
      const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
      for (const key of keys) walk(a[key], b[key], path ? `${path}.${key}` : key);
      return;
    }
    if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
      a.forEach((item, i) => walk(item, b[i], `${path}[${i}]`));
      return;
    }
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push({ path: path || '(whole)', recorded: a, requested: b });
  };
  walk(recorded, requested, '');
  return out;
}

/** A value in one short line, for messages. */
export function shortValue(value: unknown, max = 60): string {
  const text = value === undefined ? '(none)' : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}
