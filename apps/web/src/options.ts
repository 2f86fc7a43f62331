import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { OptionError } from '@icot/core';
import { BACKENDS } from '@icot/runner';

/** The bounds a server puts on every request and run. */
export interface WebLimits {
  /** Largest request body of `POST /api/runs` in bytes (the whole multipart body; `--max-upload-bytes`). */
  readonly maxUploadBytes: number;
  /** Largest image, in pixels its header declares (`--max-image-pixels`). */
  readonly maxImagePixels: number;
  /** Most new tokens a run may ask for (`--max-new-tokens`). */
  readonly maxNewTokens: number;
  /** A run (from the moment it leaves the queue) is killed after this many seconds (`--run-timeout`). */
  readonly runTimeoutSeconds: number;
  /** Runs that may wait per model while one runs; more are refused with 503 (`--queue`). */
  readonly queue: number;
}

/** Default limits: 16 MiB uploads, 16 megapixels, 512 new tokens, 300 s per run, 4 waiting runs per model. */
export const DEFAULT_WEB_LIMITS: WebLimits = {
  maxUploadBytes: 16 * 1024 * 1024,
  maxImagePixels: 4096 * 4096,
  maxNewTokens: 512,
  runTimeoutSeconds: 300,
  queue: 4,
};

/** Default port of `icot web`. */
export const DEFAULT_WEB_PORT = 8790;

/** How every served model is loaded (the same for all of them). */
export interface ServedModelSettings {
  readonly backend?: (typeof BACKENDS)[number];
  readonly dtype?: string;
  readonly threads?: number;
  readonly offline?: boolean;
}

/** Options of `icot web`, parsed and checked. */
export interface WebOptions {
  /** Port on 127.0.0.1 (0: any free port). */
  readonly port: number;
  /** Model folders (absolute) and hub ids, in the order given; empty: the embedded demo model. */
  readonly models: readonly string[];
  readonly modelSettings: ServedModelSettings;
  /** Folder of the ratings file (`ratings.jsonl`, append-only); undefined: the server keeps no ratings. */
  readonly dataDir: string | undefined;
  readonly limits: WebLimits;
  /** No request log on stderr. */
  readonly quiet: boolean;
}

/** `icot web --help`. */
export const WEB_HELP = `Usage: icot web [options]

Serve the icot web app and its HTTP API on 127.0.0.1: upload an image, ask a question, watch the
reasoning stream in with each insertion's attention over the image; compare two strategies side by
side; rate which of two regions is more relevant. Models run in child processes, one run at a time
per model. Stops on Ctrl-C / SIGTERM (exit 0) and when its parent process dies.

Options
  --port <n>                 port on 127.0.0.1 (default ${DEFAULT_WEB_PORT}; 0 picks a free one)
  --model <dir|id>           a model folder (onnx-community layout) or hub id; repeat for several
                             (default: the embedded random-weight demo model). Runs can use only these.
  --data-dir <dir>           keep ratings in <dir>/ratings.jsonl (append-only); without it the page
                             keeps ratings in the browser (IndexedDB)
  --backend onnx|transformers  backend of every model (default onnx)
  --dtype <variant>          weight variant of every model (fp32, fp16, q4, q4f16, ...)
  --threads <n>              onnxruntime threads per operator
  --offline                  never use the network (hub ids must be cached)
  --max-upload-bytes <n>     largest request body of POST /api/runs (default ${DEFAULT_WEB_LIMITS.maxUploadBytes}, 16 MiB)
  --max-image-pixels <n>     largest image, width x height (default ${DEFAULT_WEB_LIMITS.maxImagePixels})
  --max-new-tokens <n>       most new tokens a run may ask for (default ${DEFAULT_WEB_LIMITS.maxNewTokens})
  --run-timeout <seconds>    a run is killed after this long (default ${DEFAULT_WEB_LIMITS.runTimeoutSeconds})
  --queue <n>                runs that may wait per model; more get 503 (default ${DEFAULT_WEB_LIMITS.queue})
  --quiet                    no request log on stderr
  --help                     this help

The page is at the printed address (stdout has only that line). API: GET /healthz, GET /api/config,
POST /api/runs (multipart: image, question, options) -> server-sent events, POST /api/ratings,
GET /api/ratings (JSONL). See the @icot/web README.
`;

const SPEC = {
  port: { type: 'string' },
  model: { type: 'string', multiple: true },
  'data-dir': { type: 'string' },
  backend: { type: 'string' },
  dtype: { type: 'string' },
  threads: { type: 'string' },
  offline: { type: 'boolean' },
  'max-upload-bytes': { type: 'string' },
  'max-image-pixels': { type: 'string' },
  'max-new-tokens': { type: 'string' },
  'run-timeout': { type: 'string' },
  queue: { type: 'string' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function integer(name: string, value: string | undefined, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(n) || n < min || n > max)
    throw new OptionError(`--${name} must be an integer from ${min} to ${max}, got '${value}'.`, { hint: `E.g. --${name} ${fallback}.` });
  return n;
}

/**
 * Parse the arguments of `icot web` (after `web`). Returns undefined for `--help`. Throws
 * {@link OptionError} naming the bad flag and its fix. Model folders that exist are made absolute;
 * anything else is taken as a hub id (`owner/name`) and refused otherwise.
 */
export function parseWebOptions(args: readonly string[]): WebOptions | undefined {
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options: SPEC, allowPositionals: false, strict: true });
  } catch (error) {
    throw new OptionError((error as Error).message, { hint: "Run 'icot web --help' for the options." });
  }
  const values = parsed.values;
  if (values.help) return undefined;
  for (const [name, value] of Object.entries(values))
    if (value === '') throw new OptionError(`--${name} needs a value, got an empty string.`, { hint: "Run 'icot web --help' for the option's values." });
  const models = (values.model ?? []).map((model) => {
    if (existsSync(model)) return resolve(model);
    if (/^[\w.-]+\/[\w.-]+$/.test(model) && !model.startsWith('.')) return model;
    throw new OptionError(`--model ${model}: no such folder, and not a hub id (owner/name).`, {
      hint: 'Pass a model folder in the onnx-community layout or a hub id such as onnx-community/Qwen2-VL-2B-Instruct.',
    });
  });
  if (new Set(models).size !== models.length) throw new OptionError('The same --model is given twice.', { hint: 'Give each model once.' });
  const backend = values.backend;
  if (backend !== undefined && !(BACKENDS as readonly string[]).includes(backend))
    throw new OptionError(`--backend '${backend}' is not supported.`, { hint: `Use one of: ${BACKENDS.join(', ')}.` });
  const threads = values.threads === undefined ? undefined : integer('threads', values.threads, 1, 1024, 4);
  return {
    port: integer('port', values.port, 0, 65535, DEFAULT_WEB_PORT),
    models,
    modelSettings: {
      ...(backend !== undefined ? { backend: backend as (typeof BACKENDS)[number] } : {}),
      ...(values.dtype !== undefined ? { dtype: values.dtype } : {}),
      ...(threads !== undefined ? { threads } : {}),
      ...(values.offline ? { offline: true } : {}),
    },
    dataDir: values['data-dir'] === undefined ? undefined : resolve(values['data-dir']),
    limits: {
      maxUploadBytes: integer('max-upload-bytes', values['max-upload-bytes'], 1024, 2 ** 31 - 1, DEFAULT_WEB_LIMITS.maxUploadBytes),
      maxImagePixels: integer('max-image-pixels', values['max-image-pixels'], 1, Number.MAX_SAFE_INTEGER, DEFAULT_WEB_LIMITS.maxImagePixels),
      maxNewTokens: integer('max-new-tokens', values['max-new-tokens'], 1, 1_000_000, DEFAULT_WEB_LIMITS.maxNewTokens),
      runTimeoutSeconds: integer('run-timeout', values['run-timeout'], 1, 7 * 24 * 3600, DEFAULT_WEB_LIMITS.runTimeoutSeconds),
      queue: integer('queue', values.queue, 0, 1000, DEFAULT_WEB_LIMITS.queue),
    },
    quiet: values.quiet === true,
  };
}
