/** What a trigger sees for each generated token. */
export interface TriggerContext {
  /** Generation step of the token (0-based). */
  readonly step: number;
  readonly token: number;
  /** Decoded text of this token alone. */
  readonly tokenText: string;
  /** Insertions done so far in this run. */
  readonly insertions: number;
}

/** Per-run trigger state. */
export interface TriggerRun {
  /** Whether to insert right after the prompt (from the last prompt token's attention). */
  afterPrompt(): boolean;
  /**
   * Called for each generated token before it is fed to the model. Returning true makes the
   * attention row produced by feeding this token drive an insertion right after it.
   */
  onToken(context: TriggerContext): boolean;
}

/** Decides when to select and insert patches (specification v1). */
export interface TriggerV1 {
  readonly specificationVersion: 'v1';
  readonly name: string;
  /** Fresh state for one generation. */
  start(): TriggerRun;
}
