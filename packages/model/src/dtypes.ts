import { OptionError } from '@icot/core';

/** Weight variants of onnx-community exports, by file-name suffix (transformers.js naming). */
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
