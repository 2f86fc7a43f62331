/** Signal tokens chosen from a greedy run (see {@link chooseSignalTokens}). */
export interface SignalChoice {
  /** The signal token ids, for `--signal-token-ids`. */
  readonly tokenIds: readonly number[];
  /** Step of the `every`-th signal token: the first generated step that inserts. */
  readonly firstInsertionStep: number;
  /** How often the ids occur at steps that can insert. */
  readonly occurrences: number;
}

/** What {@link chooseSignalTokens} needs besides the tokens. */
export interface SignalChoiceSettings {
  /** Whether the run ended with an end-of-sequence token (its last token; it never signals). */
  readonly endedWithEos: boolean;
  /** `--max-new-tokens` of the run (the last step never inserts: nothing is generated after it). */
  readonly maxNewTokens: number;
  /** `--every`: the trigger fires at every n-th signal token. */
  readonly every: number;
}

/**
 * Choose signal token ids for a greedy run whose tokens (before any insertion at a generated step)
 * are `tokens`, so that the trigger fires at a generated step: a run is identical to `tokens` up to
 * its first insertion, so `every` occurrences of the ids at steps that can insert guarantee one.
 * Prefers one id: the one occurring most often at such steps (then the one reaching `every`
 * occurrences first); when no id occurs `every` times, the first `every`
 * distinct tokens. Returns undefined when fewer than `every` tokens can signal.
 */
export function chooseSignalTokens(tokens: readonly number[], settings: SignalChoiceSettings): SignalChoice | undefined {
  const { every } = settings;
  // Step s inserts only if a token is generated after it (s <= maxNewTokens - 2) and it is not the final end-of-sequence token.
  const end = Math.min(tokens.length - (settings.endedWithEos ? 1 : 0), settings.maxNewTokens - 1);
  const steps = new Map<number, number[]>();
  for (let s = 0; s < end; s++) {
    const id = tokens[s]!;
    const list = steps.get(id);
    if (list) list.push(s);
    else steps.set(id, [s]);
  }
  let best: SignalChoice | undefined;
  for (const [id, list] of steps) {
    if (list.length < every) continue;
    const candidate = { tokenIds: [id], firstInsertionStep: list[every - 1]!, occurrences: list.length };
    // (two ids never fire at the same step: a step has one token)
    if (!best || candidate.occurrences > best.occurrences || (candidate.occurrences === best.occurrences && candidate.firstInsertionStep < best.firstInsertionStep)) best = candidate;
  }
  if (best) return best;
  const distinct = [...steps.keys()].slice(0, every); // Map keys keep first-occurrence order
  if (distinct.length < every) return undefined;
  const chosen = new Set(distinct);
  let seen = 0;
  let firstInsertionStep = -1;
  let occurrences = 0;
  for (let s = 0; s < end; s++) {
    if (!chosen.has(tokens[s]!)) continue;
    occurrences += 1;
    if (++seen === every) firstInsertionStep = s;
  }
  return { tokenIds: distinct.sort((a, b) => a - b), firstInsertionStep, occurrences };
}
