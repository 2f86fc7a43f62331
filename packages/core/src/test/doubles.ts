import type { InsertionDecoderV1, InsertionRequest, InsertionResult } from '../spec/decoder.js';
import type { PatchSelection, PatchSelectorV1, SelectionRequest } from '../spec/selector.js';
import type { TriggerContext, TriggerV1 } from '../spec/trigger.js';

/** A selector that returns what `select` returns (default: the first k allowed patches) and records requests. */
export class MockSelector implements PatchSelectorV1 {
  readonly specificationVersion = 'v1' as const;
  readonly name: string;
  readonly requiresAttention: boolean;
  readonly requests: SelectionRequest[] = [];
  private readonly impl: (request: SelectionRequest) => PatchSelection;

  constructor(options: { name?: string; requiresAttention?: boolean; select?: (request: SelectionRequest) => PatchSelection } = {}) {
    this.name = options.name ?? 'mock';
    this.requiresAttention = options.requiresAttention ?? true;
    this.impl =
      options.select ??
      ((request) => {
        const indices: number[] = [];
        for (let i = 0; i < request.image.patchCount && indices.length < request.k; i++) if (!request.exclude.has(i)) indices.push(i);
        return { indices };
      });
  }

  select(request: SelectionRequest): PatchSelection {
    this.requests.push(request);
    return this.impl(request);
  }
}

/** A decoder that feeds the family's block through the session and records requests. */
export class MockDecoder implements InsertionDecoderV1 {
  readonly specificationVersion = 'v1' as const;
  readonly name = 'mock';
  readonly layout = 'grid' as const;
  readonly requests: InsertionRequest[] = [];

  async insert(request: InsertionRequest): Promise<InsertionResult> {
    this.requests.push(request);
    const block = request.model.family.insertionBlock({ image: request.image, patches: request.patches, start: request.position, layout: this.layout });
    const out = await request.session.step({ segments: block.segments, positions: block.positions, attention: request.attention, signal: request.signal });
    return { logits: out.logits, attention: out.attention, nextPosition: block.nextPosition, insertedTokens: block.positions.length };
  }
}

/** A trigger that fires at the given generation steps (and optionally after the prompt). */
export class MockTrigger implements TriggerV1 {
  readonly specificationVersion = 'v1' as const;
  readonly name = 'mock';
  readonly contexts: TriggerContext[] = [];
  private readonly steps: ReadonlySet<number>;
  private readonly afterPromptFlag: boolean;

  constructor(options: { steps?: readonly number[]; afterPrompt?: boolean } = {}) {
    this.steps = new Set(options.steps ?? []);
    this.afterPromptFlag = options.afterPrompt ?? false;
  }

  start() {
    return {
      afterPrompt: () => this.afterPromptFlag,
      onToken: (context: TriggerContext) => {
        this.contexts.push(context);
        return this.steps.has(context.step);
      },
    };
  }
}
