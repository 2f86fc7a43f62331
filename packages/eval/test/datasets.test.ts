import { readFileSync } from 'node:fs';
import { appendFile, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ImageError, OptionError } from '@icot/core';
import { EvalDataError, MissingImageError, parseLlavaBench, parseM3CoTSplit } from '../src/index.js';
import { loadLlavaBench, loadM3CoT, loadScienceQA } from '../src/node.js';
import { fixturePath, layoutFolder } from './layout.js';

// Small folders in each published layout: real question texts (fixtures/*/PROVENANCE.md), generated images.

const made: string[] = [];
async function folder(name: string, images: readonly string[]): Promise<string> {
  const dir = await layoutFolder(name, images);
  made.push(dir);
  return dir;
}
afterAll(async () => {
  for (const dir of made) await rm(dir, { recursive: true, force: true });
});

async function thrown(promise: Promise<unknown>): Promise<Error & { hint?: string; location?: unknown; code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}

const m3cotIds = readFileSync(join(fixturePath('m3cot-layout'), 'test.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => (JSON.parse(l) as { id: string }).id);
const m3cotImages = [...m3cotIds, 'physical-commonsense-1426'].map((id) => `images/${id}.png`);

describe('M3CoT as the ICoT code reads it: DIR/<split>.jsonl + DIR/images/<id>.png', () => {
  it('reads the test split with its fields and absolute image paths', async () => {
    const dir = await folder('m3cot-layout', m3cotImages);
    const data = await loadM3CoT(dir);
    expect(data.name).toBe('m3cot');
    expect(data.split).toBe('test');
    expect(data.samples.map((s) => s.id)).toEqual(m3cotIds);
    expect(data.skipped).toEqual([]);
    const first = data.samples[0]!;
    expect(first).toMatchObject({
      dataset: 'm3cot',
      id: 'physical-commonsense-1398',
      question: 'What is the likely purpose of the troll statue under the bridge?',
      choices: ['To scare away trespassers', "To bring attention to the city's tourist attractions", 'To honor a local legend', 'To discourage people from walking across the bridge'],
      answer: 'B',
      domain: 'commonsense',
      topic: 'physical-commonsense',
      image: join(dir, 'images', 'physical-commonsense-1398.png'),
      split: 'test',
    });
    expect(first.location).toEqual({ file: join(dir, 'test.jsonl'), line: 1, id: 'physical-commonsense-1398' });
    expect(data.samples.some((s) => s.context !== '')).toBe(true);
    expect(new Set(data.samples.map((s) => s.domain))).toEqual(new Set(['science', 'commonsense', 'mathematics']));
  });

  it('reads other splits (ICoT\'s 1-shot demonstration is in train)', async () => {
    const dir = await folder('m3cot-layout', m3cotImages);
    const train = await loadM3CoT(dir, { split: 'train' });
    expect(train.samples).toHaveLength(1);
    expect(train.samples[0]).toMatchObject({ id: 'physical-commonsense-1426', answer: 'D', category: 'Status', image: join(dir, 'images', 'physical-commonsense-1426.png') });
  });

  it('a record with "image": null is left out, as ICoT run.py filters it', () => {
    const line = JSON.stringify({ id: 'x-1', question: 'q', choices: ['a', 'b'], answer: 'A', domain: 'science', topic: 't', image: null });
    const data = parseM3CoTSplit(line, { file: 'test.jsonl', split: 'test' });
    expect(data.samples).toEqual([]);
    expect(data.skipped).toEqual([{ id: 'x-1', reason: 'no-image' }]);
  });

  it('a missing image names the record, the file looked for and the fix', async () => {
    const dir = await folder('m3cot-layout', m3cotImages.filter((p) => !p.includes('mathematics-1295')));
    const error = await thrown(loadM3CoT(dir));
    expect(error).toBeInstanceOf(MissingImageError);
    expect(error).toBeInstanceOf(ImageError);
    expect(error.code).toBe('image-unreadable');
    expect(error.message).toContain("record 'mathematics-1295'");
    expect(error.message).toContain(join(dir, 'images', 'mathematics-1295.png'));
    expect(error.message).toMatch(/test\.jsonl line 6/);
    expect(error.hint).toMatch(/images.*<id>\.png/);
    // without the image check (scoring), the split still loads
    expect((await loadM3CoT(dir, { checkImages: false })).samples).toHaveLength(12);
  });

  it('a split the folder does not have names the ones it has', async () => {
    const dir = await folder('m3cot-layout', []);
    const error = await thrown(loadM3CoT(dir, { split: 'dev' }));
    expect(error).toBeInstanceOf(EvalDataError);
    expect(error.message).toMatch(/no split 'dev'/);
    expect(error.hint).toMatch(/--split (test \| train|train \| test)/);
  });

  it('a folder that does not exist, or a file, says so', async () => {
    expect((await thrown(loadM3CoT('/nonexistent/m3cot'))).message).toMatch(/M3CoT folder \/nonexistent\/m3cot does not exist/);
    expect((await thrown(loadM3CoT(join(fixturePath('m3cot-layout'), 'test.jsonl')))).message).toMatch(/is a file/);
  });

  describe('malformed records name the file, line and id', () => {
    const good = { id: 'x-1', question: 'q?', choices: ['a', 'b', 'c'], answer: 'C', domain: 'science', topic: 't' };
    const cases: [string, unknown, RegExp][] = [
      ['no question', { ...good, question: undefined }, /line 2 \(id 'x-1'\): "question" must be a string, and it is missing/],
      ['an answer outside the choices', { ...good, answer: 'D' }, /"answer" "D" is not the letter of one of its 3 choices \(A, B, C\)/],
      ['an integer answer', { ...good, answer: 2 }, /"answer" must be a string/],
      ['choices that are not strings', { ...good, choices: ['a', 2] }, /"choices" must be a non-empty list of strings/],
      ['seven choices', { ...good, choices: ['1', '2', '3', '4', '5', '6', '7'] }, /7 choices; the scoring code names at most 6/],
      ['no id', { ...good, id: 5 }, /line 2 has no string "id"/],
      ['not an object', ['x'], /line 2 is not a JSON object/],
    ];
    for (const [name, record, message] of cases)
      it(name, () => {
        const text = `${JSON.stringify({ ...good, id: 'x-0' })}\n${JSON.stringify(record)}\n`;
        const error = (() => {
          try {
            parseM3CoTSplit(text, { file: 'test.jsonl', split: 'test' });
          } catch (e) {
            return e as EvalDataError;
          }
          throw new Error('expected an error');
        })();
        expect(error).toBeInstanceOf(EvalDataError);
        expect(error.code).toBe('invalid-data');
        expect(error.message).toMatch(message);
        expect(error.location).toMatchObject({ file: 'test.jsonl', line: 2 });
        expect(error.hint).toBeTruthy();
      });
    it('a duplicate id (M3CoT asserts unique ids)', () => {
      expect(() => parseM3CoTSplit(`${JSON.stringify(good)}\n${JSON.stringify(good)}\n`, { file: 'test.jsonl', split: 'test' })).toThrow(/the id is also on line 1/);
    });
    it('a line cut off by an interrupted write', async () => {
      const dir = await folder('m3cot-layout', m3cotImages);
      await appendFile(join(dir, 'test.jsonl'), '{"id": "cut-off", "quest');
      const error = await thrown(loadM3CoT(dir));
      expect(error).toBeInstanceOf(EvalDataError);
      expect(error.message).toMatch(/test\.jsonl line 13 is not JSON/);
      expect(error.hint).toMatch(/last line looks cut off/);
    });
  });
});

describe('ScienceQA: problems.json, pid_splits.json, images/<split>/<pid>/image.png', () => {
  const images = ['test/5', 'test/11', 'test/23', 'test/42', 'test/62', 'test/95', 'val/7', 'train/1'].map((p) => `images/${p}/image.png`);

  it('the test split\'s image subset by default: questions without an image are skipped', async () => {
    const dir = await folder('scienceqa', images);
    const data = await loadScienceQA(dir);
    expect(data.samples.map((s) => s.id)).toEqual(['5', '11', '23', '42', '62', '95']);
    expect(data.skipped).toEqual([
      { id: '4', reason: 'no-image' },
      { id: '15', reason: 'no-image' },
    ]);
    expect(data.samples[0]).toMatchObject({
      dataset: 'scienceqa',
      id: '5',
      question: "Which of the following could Gordon's test show?",
      answer: 'B',
      domain: 'natural science',
      topic: 'science-and-engineering-practices',
      category: 'Engineering practices',
      image: join(dir, 'images', 'test', '5', 'image.png'),
      split: 'test',
    });
    expect(data.samples[0]!.context).toMatch(/^People can use the engineering-design process/);
    expect(data.samples.find((s) => s.id === '42')!.choices).toHaveLength(5);
  });

  it('subset all keeps the text-only questions (no image)', async () => {
    const dir = await folder('scienceqa', images);
    const data = await loadScienceQA(dir, { subset: 'all' });
    expect(data.samples.map((s) => s.id)).toEqual(['4', '5', '11', '15', '23', '42', '62', '95']);
    expect(data.samples[0]).toMatchObject({ id: '4', answer: 'B', image: undefined, domain: 'language science' });
  });

  it('other splits read their images from their own folder', async () => {
    const dir = await folder('scienceqa', images);
    const val = await loadScienceQA(dir, { split: 'val' });
    expect(val.samples.map((s) => [s.id, s.image])).toEqual([['7', join(dir, 'images', 'val', '7', 'image.png')]]);
  });

  it('an unknown split is an option error listing the splits', async () => {
    const dir = await folder('scienceqa', images);
    const error = await thrown(loadScienceQA(dir, { split: 'dev' }));
    expect(error).toBeInstanceOf(OptionError);
    expect(error.hint).toMatch(/train, val, test, trainval/);
  });

  it('a missing image, a missing problems.json, a pid without a problem, a bad answer', async () => {
    const dir = await folder('scienceqa', images.filter((p) => !p.includes('/23/')));
    const missing = await thrown(loadScienceQA(dir));
    expect(missing).toBeInstanceOf(MissingImageError);
    expect(missing.message).toContain(join(dir, 'images', 'test', '23', 'image.png'));
    expect(missing.message).toContain("scienceqa record '23'");

    const problems = JSON.parse(await readFile(join(dir, 'problems.json'), 'utf8')) as Record<string, { answer: number }>;
    problems['42']!.answer = 5;
    await writeFile(join(dir, 'problems.json'), JSON.stringify(problems));
    expect((await thrown(loadScienceQA(dir, { checkImages: false }))).message).toMatch(/\(id '42'\): "answer" must be the index of one of its 5 choices \(0-4\), not 5/);

    delete problems['42'];
    await writeFile(join(dir, 'problems.json'), JSON.stringify(problems));
    const orphan = await thrown(loadScienceQA(dir, { checkImages: false }));
    expect(orphan.message).toMatch(/has no problem '42' \(listed in split 'test'/);
    expect(orphan.hint).toMatch(/same ScienceQA release/);

    await rm(join(dir, 'problems.json'));
    const noFile = await thrown(loadScienceQA(dir));
    expect(noFile).toBeInstanceOf(EvalDataError);
    expect(noFile.message).toBe(`${join(dir, 'problems.json')} does not exist.`);
    expect(noFile.hint).toMatch(/lupantech\/ScienceQA/);
  });
});

describe('LLaVA-Bench-in-the-Wild: questions.jsonl, context.jsonl, answers_gpt4.jsonl, images/', () => {
  const images = Array.from({ length: 24 }, (_, i) => `images/${String(i + 1).padStart(3, '0')}.jpg`); // generated PNG bytes under the published names

  it('60 questions with GPT-4\'s answer as reference and the image caption', async () => {
    const dir = await folder('llava-bench', images);
    const data = await loadLlavaBench(dir);
    expect(data.samples).toHaveLength(60);
    expect(data.samples[0]).toMatchObject({
      dataset: 'llava-w',
      id: '0',
      question: 'What is the name of this famous sight in the photo?',
      category: 'conv',
      reference: 'The famous sight in the photo is Diamond Head.',
      caption: 'An aerial view of Diamond Head in the Hawaiian Islands.',
      image: join(dir, 'images', '001.jpg'),
    });
    expect(new Set(data.samples.map((s) => s.category))).toEqual(new Set(['conv', 'detail', 'complex']));
  });

  it('context.jsonl is optional (scoring does not need captions)', async () => {
    const dir = await folder('llava-bench', images);
    await rm(join(dir, 'context.jsonl'));
    const data = await loadLlavaBench(dir);
    expect(data.samples[0]!.caption).toBeUndefined();
  });

  it('a question without a GPT-4 answer, a missing image, a missing questions file', async () => {
    const read = (f: string): string => readFileSync(join(fixturePath('llava-bench'), f), 'utf8');
    const answers = read('answers_gpt4.jsonl').trim().split('\n').filter((l) => (JSON.parse(l) as { question_id: number }).question_id !== 7).join('\n');
    expect(() => parseLlavaBench({ questions: read('questions.jsonl'), answers })).toThrow(/answers_gpt4\.jsonl has no answer for question_id 7 \(questions\.jsonl line 8\)/);

    const dir = await folder('llava-bench', images.slice(1));
    const missing = await thrown(loadLlavaBench(dir));
    expect(missing).toBeInstanceOf(MissingImageError);
    expect(missing.message).toContain("llava-w record '0'");
    expect(missing.message).toContain(join(dir, 'images', '001.jpg'));

    await rm(join(dir, 'questions.jsonl'));
    expect((await thrown(loadLlavaBench(dir))).message).toBe(`${join(dir, 'questions.jsonl')} does not exist.`);
  });
});
