/**
 * The text a step is grounded by: the step itself (cleaned, its end kept) or its noun phrases
 * (a small, documented heuristic; no tagger).
 */

/**
 * The step's text as plain words: special tokens written as text (`<|im_end|>`, `<image>`) and
 * control characters removed, quotes dropped (they frame the text in the grounding question),
 * white space collapsed. Special-token markup must never reach a side-run prompt, whose tokenizer
 * would read it as the real token.
 */
export function cleanStepText(text: string): string {
  return text
    .replace(/<\|[^|>]*\|>|<\/?[A-Za-z_][\w-]*>/g, ' ')
    .replace(/["\u201c\u201d`]/g, ' ')
    .replace(/[\p{Cc}\p{Cf}]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The last `maxChars` characters of `text`, cut at a word boundary (a single longer word is cut as is). */
export function lastChars(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const tail = text.slice(text.length - maxChars);
  const space = tail.indexOf(' ');
  return space >= 0 && space < tail.length - 1 ? tail.slice(space + 1) : tail;
}

/** Words that start a noun phrase and are dropped from it. */
const DETERMINERS = new Set(
  'a an the this that these those its their his her our my your some any each every either neither both all another other such no'.split(' '),
);

/**
 * Words that end a noun phrase: prepositions, conjunctions, pronouns, auxiliary and common verbs,
 * adverbs and the vocabulary of reasoning steps ("step", "answer", "option" ...).
 */
const BREAKS = new Set(
  (
    'about above across after against along among around as at before behind below beneath beside besides between beyond by down during except for from in ' +
    'inside into like near of off on onto out outside over past since than through throughout to toward towards under underneath until up upon with within without ' +
    'and or but nor so yet because if then therefore thus hence while whereas although though however also which who whom whose what where when why how whether ' +
    'i you he she it we they me him us them myself yourself itself themselves there here ' +
    'is are was were be been being am do does did doing done has have had having can could will would shall should may might must ' +
    'not only just very too quite rather more most less least many much few several first second third next last finally ' +
    'let lets look looks looking see sees seen seem seems think thinks know knows show shows shown appear appears appearing contain contains containing ' +
    'make makes made find finds found give gives given get gets got take takes say says said ' +
    'step steps answer answers option options question questions choice choices image picture photo correct incorrect right wrong true false yes ' +
    "ok okay therefore so let's it's that's there's"
  ).split(' '),
);

/** Most words kept in one phrase (its last ones: in English the head noun ends the phrase). */
const MAX_PHRASE_WORDS = 4;

/**
 * Noun phrases of a step, by a simple heuristic (no part-of-speech tagger): the text is split into
 * clauses at punctuation, and each clause into runs of words between "break" words (prepositions,
 * conjunctions, pronouns, auxiliary and common verbs, adverbs, reasoning vocabulary) and
 * determiners (which start a phrase and are dropped). A run is a phrase when it has a word of at
 * least two letters; it keeps its last 4 words, in lower case. Repeated
 * phrases count once; the first `max` are returned in order of appearance.
 *
 * "The red square is in the top left corner." gives `red square`, `top left corner`.
 */
export function nounPhrases(text: string, max: number): string[] {
  const phrases: string[] = [];
  const seen = new Set<string>();
  const push = (run: string[]): void => {
    if (!run.some((word) => /\p{L}.*\p{L}/u.test(word))) return;
    const phrase = run.slice(-MAX_PHRASE_WORDS).join(' ');
    if (seen.has(phrase)) return;
    seen.add(phrase);
    phrases.push(phrase);
  };
  for (const clause of cleanStepText(text).toLowerCase().split(/[.,;:!?()[\]{}]+|\s-\s/)) {
    let run: string[] = [];
    for (const raw of clause.split(/\s+/)) {
      const word = raw.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '');
      if (word === '') continue;
      if (DETERMINERS.has(word) || BREAKS.has(word) || !/[\p{L}\p{N}]/u.test(word)) {
        if (run.length) push(run);
        run = [];
        continue;
      }
      run.push(word);
    }
    if (run.length) push(run);
    if (phrases.length >= max) break;
  }
  return phrases.slice(0, max);
}

/** What to ground for a step: the whole step's end, or its noun phrases. Empty when there is nothing to ground. */
export function groundingTexts(stepText: string, settings: { readonly text: 'step' | 'noun-phrases'; readonly maxPhrases: number; readonly maxTextChars: number }): string[] {
  const clean = lastChars(cleanStepText(stepText), settings.maxTextChars);
  if (settings.text === 'noun-phrases') return nounPhrases(clean, settings.maxPhrases);
  return /[\p{L}\p{N}]/u.test(clean) ? [clean] : [];
}
