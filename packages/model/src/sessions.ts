import type { FusedAttentionTap, OrtSession, TensorFactory } from '@icot/onnx-decoding';

/** One graph of a model, as the assembly asks a {@link SessionFactory} for it. */
export interface GraphSource {
  /** Graph name in the onnx-community layout, e.g. `decoder_model_merged`. */
  readonly name: string;
  /** The graph's file, relative to the model root (e.g. `onnx/decoder_model_merged_q4.onnx`). */
  readonly file: string;
  /**
   * Edited bytes to load instead of the file (a decoder with attention taps); the weights stay in
   * the external data files next to `file`, which must be read in place.
   */
  readonly bytes?: Uint8Array;
  /** External data files the graph references, relative to its folder. */
  readonly externalDataFiles: readonly string[];
  /** How the graph is named in messages (e.g. `onnx/decoder_model_merged.onnx`). */
  readonly label: string;
}

/**
 * How a runtime makes sessions: onnxruntime-node from files, onnxruntime-web from fetched bytes,
 * the sessions transformers.js already loaded ... plus the tensor constructor of that runtime, so
 * the assembly's inputs are accepted by its sessions. Execution providers and threads are the
 * factory's settings.
 */
export interface SessionFactory {
  /** Tensors of the runtime whose sessions this factory makes. */
  readonly tensors: TensorFactory;
  /**
   * How attention of fused attention nodes must be tapped for the execution providers this
   * factory's sessions run on (default `qk-output`, CPU kernels only): `fusedAttentionTapFor(providers)`
   * from `@icot/onnx-decoding` picks it.
   */
  readonly fusedAttentionTap?: FusedAttentionTap;
  /** A session for `graph`; throws a `ModelFilesError` naming `graph.label` when the runtime cannot load it. */
  createSession(graph: GraphSource): Promise<OrtSession>;
}
