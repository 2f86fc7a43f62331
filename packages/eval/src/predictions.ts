/**
 * Prediction files as published and as icot writes them.
 * @module
 */
import { EvalDataError, type RecordLocation } from './errors.js';
import { idText, isObject, isStringArray, parseJsonl } from './jsonl.js';

/** One prediction: the record's id, the model's text, and what the record itself says about the sample. */
export interface PredictionRecord {
  /** `id` (M3CoT, ScienceQA, icot results) or `question_id` (LLaVA answer files), as text. */
  readonly id: string;
  /** The prediction: the last of `messages` (M3CoT), else `prediction` (icot), `pred` (ICoT), `text` (LLaVA). */
  readonly text: string;
  /** The record's own choices, when it has them (they win over the dataset's, as in M3CoT's `MetricData.metric`). */
  readonly choices?: readonly string[];
  /** The record's own answer: a letter, an integer index, or `null` (counted, never correct, as in Python). */
  readonly answer?: string | number | null;
  /** The record's own domain. */
  readonly domain?: string;
  /** The record's own topic. */
  readonly topic?: string;
  /** Where the record is. */
  readonly location: RecordLocation & { readonly file: string; readonly line: number };
}

/** The fields a prediction's text is read from, first found wins. */
export const PREDICTION_FIELDS = ['messages', 'prediction', 'pred', 'text'] as const;

function fail(message: string, location: RecordLocation, hint: string): never {
  throw new EvalDataError(message, { hint, location });
}

/**
 * Read a predictions JSONL text: M3CoT's published prediction files (`id`, `answer`, `choices`,
 * `domain`, `topic`, `messages` - the prediction is the last message), ICoT's outputs (the dataset
 * record plus `pred`), icot's results (`id`, `prediction`) and LLaVA answer files (`question_id`,
 * `text`). Fields other than these are ignored. A record without an id or a prediction text, or
 * with a field of the wrong type, is an {@link EvalDataError} naming the file, line and id.
 */
export function parsePredictions(text: string, file: string): PredictionRecord[] {
  return parseJsonl(text, file).map(({ line, value }) => {
    const where: RecordLocation = { file, line };
    if (!isObject(value)) fail(`${file} line ${line} is not a JSON object.`, where, 'Each line must be one prediction record, e.g. {"id": ..., "messages": [..., "prediction"]}.');
    const id = idText(value['id'] ?? value['question_id']);
    if (id === undefined)
      fail(`${file} line ${line} has no id (a string "id", or an integer "question_id" in LLaVA answer files).`, where, 'Each prediction needs the id of the sample it answers.');
    const location = { file, line, id };
    const named = `${file} line ${line} (id '${id}')`;
    let prediction: string | undefined;
    for (const field of PREDICTION_FIELDS) {
      if (!(field in value)) continue;
      const v = value[field];
      if (field === 'messages') {
        if (!Array.isArray(v) || v.length === 0 || typeof v[v.length - 1] !== 'string')
          fail(`${named}: "messages" must be a non-empty list whose last element is the prediction text.`, location, 'Write the conversation as a list of strings, the model\'s answer last (M3CoT\'s format).');
        prediction = v[v.length - 1] as string;
      } else if (typeof v === 'string') prediction = v;
      else fail(`${named}: "${field}" must be a string, not ${JSON.stringify(v)?.slice(0, 40)}.`, location, 'The prediction is the model\'s text.');
      break;
    }
    if (prediction === undefined)
      fail(`${named} has no prediction: none of ${PREDICTION_FIELDS.map((f) => `"${f}"`).join(', ')}.`, location, 'M3CoT files keep it as the last of "messages", icot results in "prediction", ICoT outputs in "pred", LLaVA answer files in "text".');
    if ('choices' in value && !isStringArray(value['choices']))
      fail(`${named}: "choices" must be a list of strings.`, location, 'Leave "choices" out to take them from the dataset (--data), or write them as strings.');
    const answer = value['answer'];
    if (answer !== undefined && answer !== null && typeof answer !== 'string' && !(typeof answer === 'number' && Number.isInteger(answer)))
      fail(`${named}: "answer" must be a letter or an integer index, not ${JSON.stringify(answer)}.`, location, 'Leave "answer" out to take it from the dataset (--data).');
    for (const field of ['domain', 'topic'] as const)
      if (value[field] !== undefined && typeof value[field] !== 'string') fail(`${named}: "${field}" must be a string.`, location, `Leave "${field}" out to take it from the dataset (--data).`);
    return {
      id,
      text: prediction,
      ...('choices' in value ? { choices: value['choices'] as string[] } : {}),
      ...(answer !== undefined ? { answer: answer as string | number | null } : {}),
      ...(typeof value['domain'] === 'string' ? { domain: value['domain'] } : {}),
      ...(typeof value['topic'] === 'string' ? { topic: value['topic'] } : {}),
      location,
    };
  });
}
