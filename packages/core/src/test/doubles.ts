import type { InsertionDecoderV2, InsertionRequest, InsertionResult } from '../spec/decoder.js';
import type { PatchSelection, PatchSelectorV2, SelectionRequest, SelectorRequirements } from '../spec/selector.js';
import type { TriggerContext, TriggerSignalRequest, TriggerV2 } from '../spec/trigger.js';

/** A selector that returns what `select` returns (default: the first k allowed patches) and records requests. */
export class MockSelector implements PatchSelectorV2 {
  readonly specificationVersion = 'v2' as const;
  readonly name: string;
  readonly requires: SelectorRequirements;
  readonly requests: SelectionRequest[] = [];
  private readonly impl: (request: SelectionRequest) => PatchSelection | Promise<PatchSelection>;

  constructor(
    options: {
      name?: string;
      /** What the selector declares it needs (default: attention only). */
      requires?: Partial<SelectorRequirements>;
      select?: (request: SelectionRequest) => PatchSelection | Promise<PatchSelection>;
    } = {},
  ) {
    this.name = options.name ?? 'mock';
    this.requires = { attention: true, ...options.requires };
    this.impl =
      options.select ??
      ((request) => {
        const indices: number[] = [];
        for (let i = 0; i < request.image.patchCount && indices.length < request.k; i++) if (!request.exclude.has(i)) indices.push(i);
        return { indices };
      });
  }

  select(request: SelectionRequest): PatchSelection | Promise<PatchSelection> {
    this.requests.push(request);
    return this.impl(request);
  }
}

/** A decoder that feeds the family's block through the session and records requests. */
export class MockDecoder implements InsertionDecoderV2 {
  readonly specificationVersion = 'v2' as const;
  readonly name = 'mock';
  readonly layout = 'grid' as const;
  readonly requires = { kvCache: false };
  readonly requests: InsertionRequest[] = [];

  async insert(request: InsertionRequest): Promise<InsertionResult> {
    this.requests.push(request);
    const block = request.model.family.insertionBlock({ image: request.image, patches: request.patches, start: request.position, layout: this.layout });
    const out = await request.session.step({
      segments: block.segments,
      positions: block.positions,
      attention: request.attention,
      ...(request.layerAttention ? { layerAttention: request.layerAttention } : {}),
      signal: request.signal,
    });
    return { ...out, nextPosition: block.nextPosition, insertedTokens: block.positions.length };
  }
}

/** A trigger that fires at the given generation steps, asks for the given signals and records what it sees. */
export class MockTrigger implements TriggerV2 {
  readonly specificationVersion = 'v2' as const;
  readonly name = 'mock';
  readonly signals: TriggerSignalRequest | undefined;
  readonly contexts: TriggerContext[] = [];
  private readonly steps: ReadonlySet<number>;

  constructor(options: { steps?: readonly number[]; signals?: TriggerSignalRequest } = {}) {
    this.steps = new Set(options.steps ?? []);
    this.signals = options.signals;
  }

  start() {
    return {
      onToken: (context: TriggerContext) => {
        this.contexts.push(context);
        return this.steps.has(context.step);
      },
    };
  }
}
