import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelConfigError, ModelFilesError, OptionError } from '@icot/core';

/** Weight variants of onnx-community exports, by file-name suffix. */
export const ONNX_DTYPE_SUFFIXES = {
  fp32: '',
  fp16: '_fp16',
  q8: '_quantized',
  quantized: '_quantized',
  int8: '_int8',
  uint8: '_uint8',
  q4: '_q4',
  q4f16: '_q4f16',
  bnb4: '_bnb4',
} as const;

/** A weight variant name (transformers.js naming). */
export type OnnxDtype = keyof typeof ONNX_DTYPE_SUFFIXES;

/** One dtype for all graphs, or one per graph name (e.g. `{ decoder_model_merged: 'q4' }`). */
export type OnnxDtypeSetting = OnnxDtype | Partial<Record<string, OnnxDtype>>;

/** Check a dtype name; throws {@link OptionError} listing the valid ones. */
export function parseDtype(value: string): OnnxDtype {
  if (value in ONNX_DTYPE_SUFFIXES) return value as OnnxDtype;
  throw new OptionError(`Unknown dtype '${value}'.`, { hint: `Use one of: ${Object.keys(ONNX_DTYPE_SUFFIXES).join(', ')}.` });
}

/** File name (under `onnx/`) of graph `name` in weight variant `dtype`. */
export function onnxFileName(name: string, dtype: OnnxDtypeSetting = 'fp32'): string {
  const d = typeof dtype === 'string' ? dtype : (dtype[name] ?? 'fp32');
  return `${name}${ONNX_DTYPE_SUFFIXES[d]}.onnx`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** A model folder's JSON files, read and checked. */
export interface ModelFolder {
  readonly path: string;
  readonly config: Record<string, unknown>;
  readonly generationConfig: Record<string, unknown>;
  readonly preprocessorConfig: Record<string, unknown>;
  /** Absolute path of each graph, by graph name. */
  readonly graphs: Readonly<Record<string, string>>;
}

async function readJsonFile(path: string, required: boolean): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (!required && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ModelFilesError(`Cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new ModelFilesError(`${path} is not valid JSON (${(error as Error).message}).`, { hint: 'The file may be truncated; download it again.', cause: error });
  }
}

/**
 * Open a model folder in the onnx-community layout and check that every file the run needs is
 * there: the JSON configs, the tokenizer files and `onnx/<graph><dtype suffix>.onnx` for each
 * graph `graphsFor(config)` names. Missing files are listed together, with the variants that do
 * exist.
 */
export async function openModelFolder(
  path: string,
  graphsFor: (config: Record<string, unknown>) => readonly string[],
  dtype: OnnxDtypeSetting = 'fp32',
): Promise<ModelFolder> {
  let isDir = false;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch {
    throw new ModelFilesError(`The model folder ${path} does not exist.`, {
      hint: 'Pass a local folder in the onnx-community layout (config.json, tokenizer.json, onnx/*.onnx) or a Hugging Face hub id such as onnx-community/Qwen2-VL-2B-Instruct.',
    });
  }
  if (!isDir) throw new ModelFilesError(`${path} is a file, not a model folder.`, { hint: 'Pass the folder that holds config.json and onnx/.' });
  const config = await readJsonFile(join(path, 'config.json'), false);
  if (config && typeof config['model_type'] !== 'string')
    throw new ModelConfigError(`${join(path, 'config.json')} has no model_type.`, { hint: 'Use the config.json of a Hugging Face model export.' });
  const graphs = config ? graphsFor(config) : [];
  const required = ['config.json', 'preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json', ...graphs.map((g) => `onnx/${onnxFileName(g, dtype)}`)];
  const missing: string[] = [];
  for (const file of required) if (!(await exists(join(path, file)))) missing.push(file);
  if (missing.length) {
    let available: string[] = [];
    try {
      available = (await readdir(join(path, 'onnx'))).filter((f) => f.endsWith('.onnx'));
    } catch {
      /* no onnx folder */
    }
    const variants = available.length ? ` The onnx/ folder has: ${available.join(', ')}.` : ' There is no onnx/ folder with .onnx files.';
    const onlyGraphs = missing.every((m) => m.startsWith('onnx/'));
    throw new ModelFilesError(`The model folder ${path} is incomplete: missing ${missing.join(', ')}.${variants}`, {
      missing,
      hint:
        onlyGraphs && available.length
          ? 'Pick a weight variant that exists with --dtype (fp32, fp16, q8, q4, ...), or download the missing files.'
          : 'Download the complete model (configs, tokenizer and onnx/ files), e.g. from the onnx-community organisation on Hugging Face.',
    });
  }
  const [generationConfig, preprocessorConfig] = await Promise.all([
    readJsonFile(join(path, 'generation_config.json'), false),
    readJsonFile(join(path, 'preprocessor_config.json'), true),
  ]);
  return {
    path,
    config: config!,
    generationConfig: generationConfig ?? {},
    preprocessorConfig: preprocessorConfig!,
    graphs: Object.fromEntries(graphs.map((g) => [g, join(path, 'onnx', onnxFileName(g, dtype))])),
  };
}
