import type { IncomingMessage } from 'node:http';
import busboy from 'busboy';
import { AbortedError } from '@icot/core';
import { badRequest, RequestRefusal, uploadTooLarge } from './refusal.js';

/** The fields of a `POST /api/runs` body. */
export interface RunUpload {
  readonly image: Uint8Array;
  /** The file name the client gave (for error messages), else `upload`. */
  readonly imageName: string;
  /** The question, its line breaks as LF (CRLF and CR, which multipart encoders write, read as LF). */
  readonly question: string;
  /** The parsed `options` JSON (undefined when the field is absent). */
  readonly options: unknown;
}

/** Largest text field (`question`, `options`), bytes. */
export const MAX_FIELD_BYTES = 64 * 1024;

const FIELDS_HINT = 'Send multipart/form-data with the fields image (a PNG or JPEG file), question (text) and optionally options (JSON).';

/**
 * Read a multipart run request with busboy, keeping at most `maxBytes` of body: past that, reading
 * stops at once (the request is unpiped and paused; the caller answers 413 and closes the
 * connection), which bounds chunked bodies that declare no length. Rejects with a
 * {@link RequestRefusal} for missing, repeated or unknown fields, malformed bodies and bad JSON,
 * or with AbortedError when the client goes away.
 */
export function readRunUpload(request: IncomingMessage, maxBytes: number): Promise<RunUpload> {
  if (!/^multipart\/form-data\b/i.test(request.headers['content-type'] ?? ''))
    return Promise.reject(badRequest(`POST /api/runs takes multipart/form-data, not ${request.headers['content-type'] ?? 'a body without a Content-Type'}.`, FIELDS_HINT, 415));
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: request.headers,
      limits: { fileSize: maxBytes, files: 1, fields: 2, parts: 4, fieldSize: MAX_FIELD_BYTES, fieldNameSize: 64, headerPairs: 32 },
    });
  } catch (error) {
    return Promise.reject(badRequest(`The multipart body cannot be read: ${(error as Error).message}.`, FIELDS_HINT));
  }
  return new Promise<RunUpload>((resolve, reject) => {
    let received = 0;
    let done = false;
    let image: { chunks: Buffer[]; name: string } | undefined;
    let imageEnded = false;
    let question: string | undefined;
    let options: unknown;
    let optionsSeen = false;
    const stop = (reason: unknown): void => {
      if (done) return;
      done = true;
      request.unpipe(parser);
      request.off('data', count);
      request.pause();
      parser.removeAllListeners();
      parser.on('error', () => {});
      reject(reason);
    };
    const count = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > maxBytes) stop(uploadTooLarge(undefined, maxBytes));
    };
    parser.on('file', (name, stream, info) => {
      if (name !== 'image') {
        stream.resume();
        stop(badRequest(`Unexpected file field '${name}'.`, FIELDS_HINT));
        return;
      }
      const current = { chunks: [] as Buffer[], name: info.filename || 'upload' };
      image = current;
      stream.on('data', (chunk: Buffer) => current.chunks.push(chunk));
      stream.on('limit', () => stop(uploadTooLarge(undefined, maxBytes)));
      stream.on('end', () => (imageEnded = true));
    });
    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) {
        stop(new RequestRefusal(413, badRequest(`The field '${name}' is longer than ${MAX_FIELD_BYTES} bytes.`, 'Send a shorter question or options object.').error));
        return;
      }
      if (name === 'question') {
        if (question !== undefined) stop(badRequest("The field 'question' is given twice.", FIELDS_HINT));
        // multipart/form-data as browsers and fetch encode it turns every line break of a text
        // field into CRLF (HTML's encoding algorithm); the question's own line breaks are LF
        question = value.replace(/\r\n?/g, '\n');
      } else if (name === 'options') {
        if (optionsSeen) stop(badRequest("The field 'options' is given twice.", FIELDS_HINT));
        optionsSeen = true;
        try {
          options = JSON.parse(value);
        } catch (error) {
          stop(badRequest(`The field 'options' is not valid JSON: ${(error as Error).message}.`, 'Send one JSON object, e.g. {"selector": {"name": "ads"}, "k": 16}.'));
        }
      } else stop(badRequest(`Unknown field '${name}'.`, FIELDS_HINT));
    });
    parser.on('filesLimit', () => stop(badRequest('The body has more than one file.', FIELDS_HINT)));
    parser.on('fieldsLimit', () => stop(badRequest('The body has more fields than question and options.', FIELDS_HINT)));
    // busboy emits partsLimit once the limit is reached: a 4th part, whatever it is, is one too many
    parser.on('partsLimit', () => stop(badRequest('The body has more parts than image, question and options.', FIELDS_HINT)));
    parser.on('error', (error: Error) => stop(badRequest(`The multipart body cannot be read: ${error.message}.`, FIELDS_HINT)));
    parser.on('close', () => {
      if (done) return;
      if (!image || !imageEnded) return stop(badRequest('The body has no image.', FIELDS_HINT));
      if (question === undefined) return stop(badRequest('The body has no question.', FIELDS_HINT));
      done = true;
      const bytes = Buffer.concat(image.chunks);
      resolve({ image: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), imageName: image.name, question, options });
    });
    request.on('aborted', () => stop(new AbortedError('The client went away during the upload.')));
    request.on('data', count);
    request.pipe(parser);
  });
}
