import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { OptionError } from '@icot/core';

/**
 * The folder of onnxruntime-node's native libraries for this platform
 * (`bin/napi-v6/<platform>/<arch>`, where its install script also puts the CUDA provider
 * libraries it downloads), or undefined when onnxruntime-node cannot be resolved.
 */
export function onnxRuntimeBinaryFolder(): string | undefined {
  try {
    const entry = createRequire(import.meta.url).resolve('onnxruntime-node');
    return join(dirname(entry), '..', 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return undefined;
  }
}

const PROVIDER_NAMES = "cpu; webgpu (Linux x64, macOS, Windows); cuda and tensorrt (Linux x64); dml (Windows); coreml (macOS)";

/**
 * The error to report when onnxruntime could not create a session because an execution provider of
 * `providers` cannot start (onnxruntime does not fall back to the next provider then): an
 * `OptionError` that names the provider and what it needs, or undefined for any other failure.
 * `error` is onnxruntime-node's (messages of onnxruntime-node 1.30).
 */
export function executionProviderError(error: unknown, providers: readonly string[], binaryFolder = onnxRuntimeBinaryFolder()): OptionError | undefined {
  const message = error instanceof Error ? error.message : String(error);
  const asked = `executionProviders: [${providers.map((p) => `'${p}'`).join(', ')}]`;
  const unknown = /\[([^\]]*)\] backend not found/.exec(message);
  if (unknown)
    return new OptionError(`onnxruntime-node has no execution provider '${unknown[1]}' on ${process.platform}/${process.arch} (${asked}).`, {
      hint: `Use the lower-case names onnxruntime-node knows: ${PROVIDER_NAMES}.`,
      cause: error,
    });
  const library = /AppendExecutionProvider_(\w+): Failed to load shared library/.exec(message);
  if (library) {
    const name = library[1]!.toLowerCase() === 'tensorrt' ? 'TensorRT' : 'CUDA';
    const file = `libonnxruntime_providers_${name === 'TensorRT' ? 'tensorrt' : 'cuda'}.so`;
    const installed = binaryFolder !== undefined && existsSync(join(binaryFolder, file));
    return installed
      ? new OptionError(`onnxruntime cannot start the ${name} execution provider (${asked}): ${join(binaryFolder, file)} is there but could not be loaded, which means a CUDA 12 or cuDNN 9 library${name === 'TensorRT' ? ' (or TensorRT)' : ''} it needs was not found.`, {
          hint: "Install CUDA 12.x and cuDNN 9.x for this NVIDIA GPU and put their lib folders on LD_LIBRARY_PATH; or use executionProviders: ['cpu'].",
          cause: error,
        })
      : new OptionError(`onnxruntime cannot start the ${name} execution provider (${asked}): its libraries are not installed${binaryFolder ? ` in ${binaryFolder}` : ''} (onnxruntime-node downloads them when it is installed on Linux x64, unless ONNXRUNTIME_NODE_INSTALL=skip).`, {
          hint: "Download them with `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node` (Linux x64; the GPU also needs CUDA 12.x and cuDNN 9.x), or use executionProviders: ['cpu'].",
          cause: error,
        });
  }
  if (providers.some((p) => p.toLowerCase() === 'webgpu') && /webgpu/i.test(message))
    return new OptionError(`onnxruntime cannot start the WebGPU execution provider (${asked}): no GPU adapter was found.`, {
      hint: "On Linux, install libvulkan1 and a GPU driver with Vulkan support; or use executionProviders: ['cpu'].",
      cause: error,
    });
  return undefined;
}
