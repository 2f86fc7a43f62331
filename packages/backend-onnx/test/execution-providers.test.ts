import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelFilesError, OptionError } from '@icot/core';
import { fixturePath } from '@icot/testing';
import { loadOnnxModel } from '../src/index.js';
import { executionProviderError, onnxRuntimeBinaryFolder } from '../src/providers.js';

// Messages as onnxruntime-node 1.30 throws them (seen on Linux x64 without the CUDA download and without Vulkan).
const CUDA_MISSING = 'OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library';
const TENSORRT_MISSING = 'OrtSessionOptionsAppendExecutionProvider_TensorRT: Failed to load shared library';
const NO_ADAPTER =
  '/onnxruntime_src/onnxruntime/core/providers/webgpu/webgpu_context.cc:136 onnxruntime::webgpu::WebGpuContext::Initialize(const onnxruntime::webgpu::WebGpuContextConfig&)::<lambda()> adapter_result.status == wgpu::RequestAdapterStatus::Success was false';

describe('execution providers that cannot start are reported as options, with what they need', () => {
  it('CUDA without its provider libraries: how to download them', () => {
    const empty = mkdtempSync(join(tmpdir(), 'icot-ort-bin-'));
    try {
      const error = executionProviderError(new Error(CUDA_MISSING), ['cuda', 'cpu'], empty);
      expect(error).toBeInstanceOf(OptionError);
      expect(error!.message).toMatch(/CUDA execution provider.*not installed.*ONNXRUNTIME_NODE_INSTALL=skip/);
      expect(error!.message).toContain("executionProviders: ['cuda', 'cpu']");
      expect(error!.hint).toMatch(/ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('CUDA with its provider library present but not loadable: the CUDA / cuDNN libraries', () => {
    const folder = mkdtempSync(join(tmpdir(), 'icot-ort-bin-'));
    try {
      writeFileSync(join(folder, 'libonnxruntime_providers_cuda.so'), '');
      const error = executionProviderError(new Error(CUDA_MISSING), ['cuda'], folder);
      expect(error).toBeInstanceOf(OptionError);
      expect(error!.message).toMatch(/could not be loaded.*CUDA 12 or cuDNN 9/);
      expect(error!.hint).toMatch(/LD_LIBRARY_PATH/);
      const tensorrt = executionProviderError(new Error(TENSORRT_MISSING), ['tensorrt'], folder);
      expect(tensorrt!.message).toMatch(/TensorRT execution provider.*not installed/);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('WebGPU without a GPU adapter: Vulkan and a driver', () => {
    const error = executionProviderError(new Error(NO_ADAPTER), ['webgpu', 'cpu']);
    expect(error).toBeInstanceOf(OptionError);
    expect(error!.hint).toMatch(/libvulkan1/);
  });

  it('other failures are not blamed on the providers', () => {
    expect(executionProviderError(new Error('Protobuf parsing failed.'), ['cpu'])).toBeUndefined();
    expect(executionProviderError(new Error('webgpu kernel failed'), ['cpu'])).toBeUndefined();
  });

  it('loading with an unknown provider name fails with OptionError listing the names', async () => {
    const error = await loadOnnxModel(fixturePath('tiny-qwen2-vl'), { executionProviders: ['CUDA'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OptionError);
    expect((error as OptionError).message).toMatch(/no execution provider 'CUDA'/);
    expect((error as OptionError).hint).toMatch(/lower-case.*cuda and tensorrt \(Linux x64\)/);
  });

  const folder = onnxRuntimeBinaryFolder();
  const cudaInstalled = folder !== undefined && existsSync(join(folder, 'libonnxruntime_providers_cuda.so'));
  it.skipIf(process.platform !== 'linux' || process.arch !== 'x64' || cudaInstalled)(
    "loading with 'cuda' where the CUDA download was skipped fails with OptionError, not a file error",
    async () => {
      const error = await loadOnnxModel(fixturePath('tiny-qwen2-vl'), { executionProviders: ['cuda', 'cpu'] }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OptionError);
      expect(error).not.toBeInstanceOf(ModelFilesError);
      expect((error as OptionError).message).toMatch(/CUDA execution provider.*not installed/);
    },
  );
});

describe('attention taps per execution provider', () => {
  it("fused attention is read through its own output on the CPU and recomputed from plain operators on GPU providers", async () => {
    const { nodeSessionFactory } = await import('../src/ort-io.js');
    expect(nodeSessionFactory('.', {}).fusedAttentionTap).toBe('qk-output');
    expect(nodeSessionFactory('.', { executionProviders: ['cpu'] }).fusedAttentionTap).toBe('qk-output');
    expect(nodeSessionFactory('.', { executionProviders: ['webgpu', 'cpu'] }).fusedAttentionTap).toBe('recompute');
    expect(nodeSessionFactory('.', { executionProviders: ['cuda'] }).fusedAttentionTap).toBe('recompute');
  });
});
