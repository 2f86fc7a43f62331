/** Which decoder layers to average: all of them, a list of indices, or the last `n`. */
export type LayerSelection = 'all' | readonly number[] | { readonly last: number };

/**
 * Per-step signals a trigger asks for. The loop computes only what is asked (a run whose trigger
 * asks for nothing pays nothing), from the forward pass that is run anyway.
 */
export interface TriggerSignalRequest {
  /**
   * The attention mass on the query image's patches, averaged over these layers and all heads
   * (AIM-CoT's attention-shift trigger uses the last 3 layers). Needs the model's
   * `layerAttention` capability.
   */
  readonly imageAttention?: { readonly layers: LayerSelection };
  /** The top-1 minus top-2 probability of the distribution each token is chosen from (DaP-ICoT). */
  readonly probabilityGap?: boolean;
}

/**
 * Signals of the forward pass whose next-token distribution the token was chosen from (the step
 * that fed the previous token, the prefill for step 0, or an inserted block). A field is present
 * when it was asked for and the pass produced it (a KV insertion that feeds nothing produces no
 * attention).
 */
export interface StepSignals {
  /** Sum over the query image's patches of the attention row averaged over the requested layers (0..1). */
  readonly imageAttention?: number;
  /**
   * Top-1 minus top-2 probability of the model's distribution, softmax(logits) over the
   * vocabulary: before temperature, the repetition penalty and top-k / top-p (DaP-ICoT reads it from
   * the raw logits), so it does not depend on the sampling settings.
   */
  readonly probabilityGap?: number;
}

/** What a trigger sees for each generated token. */
export interface TriggerContext {
  /** Generation step of the token (0-based). */
  readonly step: number;
  readonly token: number;
  /** Decoded text of this token alone. */
  readonly tokenText: string;
  /** Insertions done so far in this run. */
  readonly insertions: number;
  /** The signals the trigger asked for (see {@link TriggerSignalRequest}); empty when it asked for none. */
  readonly signals: StepSignals;
}

/** Per-run trigger state. */
export interface TriggerRun {
  /**
   * Called for each generated token before it is fed to the model. Returning true makes the
   * attention row produced by feeding this token drive an insertion right after it.
   */
  onToken(context: TriggerContext): boolean;
}

/**
 * Decides when to select and insert patches (specification v2). Whether to insert right after the
 * prompt is not a trigger's decision: it is the run's `insertAfterPrompt` (the family's default).
 */
export interface TriggerV2 {
  readonly specificationVersion: 'v2';
  readonly name: string;
  /** Per-step signals this trigger reads (absent: none). */
  readonly signals?: TriggerSignalRequest;
  /** Fresh state for one generation. */
  start(): TriggerRun;
}
