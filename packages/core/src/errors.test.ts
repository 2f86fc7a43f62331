import { describe, expect, it } from 'vitest';
import { errorDocument, ImageError, JSON_SCHEMA_VERSION, OptionError } from './errors.js';

describe('errorDocument', () => {
  it('carries an IcotError as {schemaVersion, error: {code, message, hint}}', () => {
    const doc = errorDocument(new OptionError('--k must be an integer >= 1.', { hint: 'Use --k 16.' }));
    expect(doc).toEqual({ schemaVersion: JSON_SCHEMA_VERSION, error: { code: 'invalid-option', message: '--k must be an integer >= 1.', hint: 'Use --k 16.' } });
  });

  it('uses the fallback hint, else null', () => {
    expect(errorDocument(new ImageError('bad'), 'Pass a PNG.').error.hint).toBe('Pass a PNG.');
    expect(errorDocument(new ImageError('bad')).error.hint).toBeNull();
  });

  it('reports anything else as an internal error (a bug), also non-Error values', () => {
    expect(errorDocument(new TypeError('x is undefined')).error).toMatchObject({ code: 'internal', message: 'x is undefined' });
    expect(errorDocument('boom').error).toMatchObject({ code: 'internal', message: 'boom' });
    expect(JSON.parse(JSON.stringify(errorDocument(new OptionError('m'))))).toEqual(errorDocument(new OptionError('m')));
  });
});
