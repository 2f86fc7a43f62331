import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { demoModel } from '@icot/demo-model';
import { attentionColor } from '@icot/overlay';
import { executeRun } from '@icot/runner/in-process';
import type { RunOutcome } from '@icot/runner';
import { renderReport } from '../src/report.js';

// a real run of the embedded demo model (the run `icot run` makes by default), in this process
const outcome: RunOutcome = await executeRun({
  model: { source: demoModel.dir },
  images: [{ path: demoModel.image }],
  prompt: { question: demoModel.question },
  trigger: { signal: { tokenIds: demoModel.signalTokenIds }, every: 2 },
  maxNewTokens: 32,
});
const imageBytes = new Uint8Array(await readFile(demoModel.image));

function report(result = outcome.result, tokenTexts = outcome.tokenTexts, prompt = demoModel.question): string {
  const image = outcome.images[0]!;
  return renderReport({
    title: `ICoT - ${outcome.model.modelId}`,
    image: { bytes: imageBytes, mime: 'image/png', width: image.width, height: image.height },
    prompt,
    result,
    tokenTexts,
    notes: [demoModel.label],
  });
}

/** The SVG of each insertion's heatmap figure, in order. */
const heatmaps = (html: string) => [...html.matchAll(/<section class="step" id="insertion-\d+">[\s\S]*?<\/section>/g)].map((m) => m[0]);
const attribute = (tag: string, name: string) => new RegExp(`${name}="([^"]*)"`).exec(tag)?.[1];

describe('the HTML report of a demo run', () => {
  const { result } = outcome;
  const patches = result.queryImage.patchCount;

  it('has a run with insertions that recorded whole attention rows', () => {
    expect(patches).toBe(64);
    expect(result.insertions.length).toBeGreaterThanOrEqual(2);
    for (const ins of result.insertions) expect(ins.attention).toHaveLength(patches);
  });

  it("shows every insertion's attention over all patches, the selected ones outlined, scores on hover", () => {
    const html = report();
    const sections = heatmaps(html);
    expect(sections).toHaveLength(result.insertions.length);
    sections.forEach((section, n) => {
      const ins = result.insertions[n]!;
      const cells = [...section.matchAll(/<rect class="cell"[^>]*>/g)].map((m) => m[0]);
      expect(cells).toHaveLength(patches);
      // each cell's colour is its score's, normalised over this insertion's row
      const row = ins.attention!;
      const min = Math.min(...row);
      const max = Math.max(...row);
      cells.forEach((cell, i) => {
        expect(attribute(cell, 'data-patch')).toBe(String(i));
        expect(attribute(cell, 'fill')).toBe(attentionColor((row[i]! - min) / (max - min)));
      });
      const outlined = /<g class="outline"[^>]*>([\s\S]*?)<\/g>/.exec(section)![1]!;
      const boxes = [...outlined.matchAll(/<rect [^>]*>/g)].map((m) => ['x', 'y', 'width', 'height'].map((a) => Number(attribute(m[0], a))));
      expect(boxes).toEqual(ins.boxes.map((b) => [b.x, b.y, b.width, b.height]));
      const titles = [...section.matchAll(/<title>patch (\d+) [^<]*<\/title>/g)];
      expect(titles).toHaveLength(patches);
      expect(titles.filter((m) => m[0].includes('selected')).map((m) => Number(m[1]))).toEqual(ins.selected);
      const top = row.indexOf(max);
      expect(section).toMatch(new RegExp(`<title>patch ${top} \\(row \\d, col \\d\\) · attention [\\d.e-]+, rank 1 of 64`));
      // its legend: the row's range, said to be per insertion
      expect(section).toContain('class="icot-attention-legend"');
      expect(section).toContain("linear from this insertion's min to max");
      // the step's text beside it
      expect(section).toContain(`Insertion ${n + 1}`);
    });
  });

  it('is one self-contained page that embeds the image once and is large enough to read', () => {
    const html = report();
    expect(html).toMatch(/^<!doctype html>/);
    expect(html.match(/data:image\/png;base64,/g)).toHaveLength(1);
    expect(html.match(/<use href="#icot-query-image"\/>/g)).toHaveLength(result.insertions.length + 1); // each insertion and the summary
    expect(html).not.toMatch(/(?:src|href)="(?:https?:)?\/\//);
    expect(html).not.toMatch(/<link |@import|url\(/);
    expect(html).toMatch(/grid-template-columns:minmax\(0,1fr\) 520px/); // the figures are 520 px wide
  });

  it('carries no raw control bytes, although the random model writes them', () => {
    const raw = outcome.tokenTexts.join('');
    // eslint-disable-next-line no-control-regex
    const controls = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
    expect(raw).toMatch(controls); // the demo's gibberish holds some (that is what this test is about)
    const html = report(result, outcome.tokenTexts, `${demoModel.question}\u0007\r\u009b`);
    expect(html).not.toMatch(controls);
    expect(html).toContain('\u2407\u240d\ufffd');
  });

  it('shows outlines only (and says so) when the selector used no attention', () => {
    const blind = { ...result, insertions: result.insertions.map((ins) => ({ ...ins, attention: null, scores: [] })) };
    const html = report(blind);
    for (const section of heatmaps(html)) {
      expect(section.match(/<rect class="cell"/g)).toHaveLength(patches);
      expect(section).toMatch(/<g class="heatmap" fill-opacity="0"/);
      expect(section).toContain('no attention recorded (the selector used none)');
    }
    expect(html).toContain('The selector used no attention');
  });

  it('names the strategy that chose each insertion, a fallback and its reason, and draws regions chosen whole', () => {
    const [first, ...others] = result.insertions;
    const html = report({
      ...result,
      insertions: [
        { ...first!, selector: 'segmentation', variant: 'slic', regions: [first!.selected.slice(0, 3), first!.selected.slice(3)] },
        ...others.map((ins) => ({ ...ins, selector: 'grounding', fallback: { selector: 'ads', reason: 'the answer held no box <&>' } })),
      ],
    });
    const sections = heatmaps(html);
    expect(sections[0]).toContain('chosen by <b>segmentation</b> (slic)');
    expect(sections[0]).toContain('The 2 regions chosen whole');
    expect(sections[0]!.match(/<title>region 1: patch/g)).toHaveLength(3);
    expect(sections[0]!.match(/<title>region 2: patch/g)).toHaveLength(first!.selected.length - 3);
    for (const section of sections.slice(1)) {
      expect(section).toContain('chosen by <b>ads</b> instead of grounding: the answer held no box &lt;&amp;&gt;');
      expect(section).not.toContain('regions chosen whole');
    }
    expect(report()).toContain('chosen by <b>ads</b>');
  });
});
