import { OptionError } from '@icot/core';

/**
 * Check that `options` is a plain object whose keys are all in `known`; a misspelt key fails
 * instead of being ignored. Throws {@link OptionError} naming the key and the known ones.
 */
export function checkOptionKeys(trigger: string, options: unknown, known: readonly string[]): Record<string, unknown> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options))
    throw new OptionError(`The ${trigger} trigger's options must be an object, got ${options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options}.`, {
      hint: `Pass e.g. {} for the defaults; known options: ${known.join(', ')}.`,
    });
  for (const key of Object.keys(options))
    if (!known.includes(key))
      throw new OptionError(`Unknown option '${key}' of the ${trigger} trigger.`, { hint: `Known options: ${known.join(', ')}.` });
  return options as Record<string, unknown>;
}

/** A value as an error message shows it (numbers as JavaScript writes them, so NaN reads NaN). */
export function shown(value: unknown): string {
  return typeof value === 'number' || value === undefined ? String(value) : JSON.stringify(value);
}

/** The value of `key` in checked options, or `fallback` when it is absent (null is a value, and fails its check). */
export function optionOr(given: Record<string, unknown>, key: string, fallback: unknown): unknown {
  return given[key] === undefined ? fallback : given[key];
}
