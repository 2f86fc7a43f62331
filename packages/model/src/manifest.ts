import { checkModelFiles, modelFamilyOf } from './assemble.js';
import { onnxFileName, type OnnxDtypeSetting } from './dtypes.js';
import type { FileSource } from './files.js';
import { familyGraphs } from './registry.js';

/** Files a model may read besides the required ones, when they exist. */
const OPTIONAL_FILES = ['generation_config.json', 'processor_config.json', 'chat_template.jinja', 'chat_template.json'] as const;

/** The files every model reads: configs and tokenizer. */
const CONFIG_FILES = ['config.json', 'preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json'] as const;

/**
 * The files a model with `dtype` is assembled from, as paths relative to its root, in a stable
 * order: the configs and tokenizer files, the optional ones that exist, and each graph of its
 * family with the external-data files beside it (`<graph>.onnx_data`, `<graph>.onnx_data_1`, ...).
 * What a reproducibility record hashes: the same folder with other variants in `onnx/` gives the
 * same list. Throws a `ModelFilesError` (through the same check as loading) when files are missing.
 */
export async function modelFileManifest(files: FileSource, options: { readonly backend?: string; readonly dtype?: OnnxDtypeSetting } = {}): Promise<readonly string[]> {
  const { entry } = await modelFamilyOf(files, options.backend ?? 'onnx');
  const graphs = familyGraphs(entry).map((graph) => `onnx/${onnxFileName(graph, options.dtype)}`);
  await checkModelFiles(files, graphs);
  const optional = [];
  for (const path of OPTIONAL_FILES) if (await files.exists(path)) optional.push(path);
  const listed = files.list ? await files.list('onnx') : [];
  const external = graphs.flatMap((graph) => {
    const base = graph.slice('onnx/'.length);
    return listed
      .filter((name) => name === `${base}_data` || name.startsWith(`${base}_data_`))
      .sort()
      .map((name) => `onnx/${name}`);
  });
  return [...CONFIG_FILES, ...optional, ...graphs, ...external];
}
