import { describe, expect, it } from 'vitest';
import {
  AbortedError,
  AttentionUnavailableError,
  IcotError,
  ImageError,
  ModelConfigError,
  ModelFilesError,
  NetworkError,
  OptionError,
  PromptError,
  SelectionError,
} from './errors.js';
import { fromWireError, toWireError } from './wire-error.js';

/** Through the wire: plain data, cloned as the IPC channel clones it. */
const roundTrip = (error: unknown): Error => fromWireError(structuredClone(toWireError(error)));

describe('wire errors', () => {
  it('bring every IcotError back as its own class with code, message, hint and stack', () => {
    const errors = [
      new ModelConfigError('config', { hint: 'h1' }),
      new AttentionUnavailableError('attention', { hint: 'h2' }),
      new ImageError('image', { hint: 'h3' }),
      new SelectionError('selection', { hint: 'h4' }),
      new PromptError('prompt', { hint: 'h5' }),
      new OptionError('option', { hint: 'h6' }),
      new AbortedError('aborted'),
      new IcotError('internal', 'internal'),
    ];
    for (const error of errors) {
      const back = roundTrip(error);
      expect(back).toBeInstanceOf(error.constructor);
      expect(back).toMatchObject({ name: error.name, code: error.code, message: error.message, hint: error.hint });
      expect(back.stack).toBe(error.stack);
    }
  });

  it('keep the missing files of ModelFilesError and the HTTP status of NetworkError', () => {
    const files = roundTrip(new ModelFilesError('files', { missing: ['onnx/a.onnx'], hint: 'h' }));
    expect(files).toBeInstanceOf(ModelFilesError);
    expect((files as ModelFilesError).missing).toEqual(['onnx/a.onnx']);
    const network = roundTrip(new NetworkError('down', { status: 503 }));
    expect(network).toBeInstanceOf(NetworkError);
    expect((network as NetworkError).status).toBe(503);
  });

  it('keep name, message and stack of other errors, which stay untyped', () => {
    const back = roundTrip(new TypeError('bad'));
    expect(IcotError.is(back)).toBe(false);
    expect(back).toMatchObject({ name: 'TypeError', message: 'bad' });
    expect(roundTrip('a string').message).toBe('a string');
  });
});
