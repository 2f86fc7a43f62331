import type { ICoTResult, InsertionRecord } from '@icot/core';
import { escapeXml, renderAttentionLegend, renderAttentionOverlay, replaceControlCharacters } from '@icot/overlay';
import type { StreamEvent } from './events.js';

/** A finished run, for the comparison and the rating view. */
export interface FinishedRun {
  readonly label: string;
  readonly options: Readonly<Record<string, unknown>>;
  readonly model: string;
  readonly result: ICoTResult;
}

function element<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Model text for the page: never markup (textContent), control characters shown as symbols. */
const shown = (text: string): string => replaceControlCharacters(text);

/** Which strategy chose an insertion's patches (and what stood in for it). */
function strategyLine(ins: InsertionRecord): string {
  const chosen = ins.fallback ? `chosen by ${ins.fallback.selector} instead of ${ins.selector}: ${ins.fallback.reason}` : `chosen by ${ins.selector}`;
  return `${chosen}${ins.variant ? ` (${ins.variant})` : ''}`;
}

/**
 * One run on the page: a status line, the answer as it streams in (insertions marked inline),
 * and a card per insertion with the step's text beside the image - the selected patches outlined
 * as soon as the insertion arrives, then, when the run finishes and the query image's patch
 * layout is known, the step's attention over every patch as a heatmap with a legend
 * (`@icot/overlay`).
 */
export class RunView {
  readonly root: HTMLElement;
  private readonly status: HTMLElement;
  private readonly answer: HTMLElement;
  private readonly cards: HTMLElement;
  private readonly summary: HTMLElement;
  private imageSize: { width: number; height: number } | undefined;
  private readonly figures: HTMLElement[] = [];
  private model = '';
  private options: Readonly<Record<string, unknown>> = {};
  /** Set when the run finished. */
  finished: FinishedRun | undefined;

  constructor(
    parent: HTMLElement,
    /** The strategy's label (what a rating records). */
    readonly label: string,
    private readonly imageUrl: string,
    heading: string = label,
  ) {
    this.root = element('div', 'run');
    this.root.dataset['state'] = 'running';
    this.root.append(element('h2', undefined, heading));
    this.status = element('p', 'status', 'starting ...');
    this.status.setAttribute('role', 'status');
    this.answer = element('pre', 'answer');
    this.cards = element('div', 'insertions');
    this.summary = element('p', 'summary');
    this.root.append(this.status, this.answer, this.cards, this.summary);
    parent.append(this.root);
  }

  private setStatus(text: string): void {
    this.status.textContent = text;
  }

  /** Show one event of the run. */
  handle(event: StreamEvent): void {
    switch (event.type) {
      case 'accepted':
        this.model = event.model;
        this.options = event.options;
        this.imageSize = { width: event.image.width, height: event.image.height };
        this.setStatus(`accepted (run ${event.runId} on ${event.model})`);
        break;
      case 'queued':
        this.setStatus(`waiting for the model: ${event.position} ${event.position === 1 ? 'run' : 'runs'} ahead`);
        break;
      case 'model-loading':
        this.setStatus(`loading ${event.source} ...`);
        break;
      case 'download':
        this.setStatus(`downloading ${event.file}: ${Math.round(event.loaded / 1e6)} of ${event.total ? Math.round(event.total / 1e6) : '?'} MB`);
        break;
      case 'model-loaded':
        this.model ||= event.modelId;
        this.setStatus(`${event.family} on ${event.provider}${event.reused ? ' (already loaded)' : ''}`);
        break;
      case 'images-encoded': {
        const image = event.images[0]!;
        this.imageSize = { width: image.width, height: image.height };
        this.setStatus(`image ${image.width}x${image.height} -> ${image.tiles > 1 ? `${image.patches} patches in ${image.tiles} tiles` : `${image.rows}x${image.cols} patches`}`);
        break;
      }
      case 'start':
        this.setStatus(`prefill of ${event.promptTokens} tokens ...`);
        break;
      case 'token':
        this.setStatus(`generating: token ${event.step + 1}`);
        break;
      case 'text-delta':
        this.answer.append(document.createTextNode(shown(event.text)));
        break;
      case 'insertion':
        this.addInsertion(event.insertion);
        break;
      case 'finish':
        this.finish(event.result);
        break;
      case 'error':
        this.root.dataset['state'] = 'error';
        this.status.classList.add('error');
        this.setStatus(`error${event.status ? ` ${event.status}` : ''} (${event.error.code}): ${event.error.message}${event.error.hint ? ` - ${event.error.hint}` : ''}`);
        break;
    }
  }

  /** The run was stopped from the page. */
  stopped(): void {
    if (this.root.dataset['state'] !== 'running') return;
    this.root.dataset['state'] = 'stopped';
    this.setStatus('stopped');
  }

  private addInsertion(ins: InsertionRecord): void {
    const n = this.figures.length + 1;
    const marker = element('span', 'marker', `[insertion ${n}: ${ins.selected.length} patches]`);
    this.answer.append(marker);
    const card = element('article', 'insertion');
    card.dataset['step'] = String(ins.step);
    const text = element('div', 'step-text');
    text.append(element('h3', undefined, `Insertion ${n} ${ins.step >= 0 ? `after step ${ins.step}` : 'right after the prompt'}`));
    text.append(ins.stepText ? element('pre', undefined, shown(ins.stepText)) : element('p', 'muted', '(before any text)'));
    text.append(element('p', 'meta', `${ins.selected.length} patches (${strategyLine(ins)}): ${ins.selected.join(', ')}`));
    const figure = element('figure', 'figure');
    figure.innerHTML = this.outlineSvg(ins);
    this.figures.push(figure);
    card.append(text, figure);
    this.cards.append(card);
  }

  /** The selected patches outlined over the image (what is known before the run's layout arrives). */
  private outlineSvg(ins: InsertionRecord): string {
    const size = this.imageSize;
    if (!size) return '';
    const rects = ins.boxes.map((b) => `<rect x="${b.x}" y="${b.y}" width="${b.width}" height="${b.height}"/>`).join('');
    return (
      `<svg class="outline-only" viewBox="0 0 ${size.width} ${size.height}" role="img" aria-label="Selected patches"><image href="${escapeXml(this.imageUrl)}" width="${size.width}" height="${size.height}"/>` +
      `<g fill="none" stroke="#000" stroke-width="4" vector-effect="non-scaling-stroke">${rects}</g><g fill="none" stroke="#fff" stroke-width="2">${rects}</g></svg>`
    );
  }

  private finish(result: ICoTResult): void {
    result.insertions.forEach((ins, i) => {
      const figure = this.figures[i];
      if (!figure) return;
      figure.innerHTML =
        renderAttentionOverlay({
          image: { href: this.imageUrl },
          layout: result.queryImage,
          insertion: ins,
          label: `Insertion ${i + 1}: ${ins.attention ? 'attention over the image, ' : ''}${ins.selected.length} selected patches outlined`,
        }) + renderAttentionLegend({ attention: ins.attention });
    });
    const t = result.timings;
    this.summary.textContent = `${result.usage.generatedTokens} tokens (${result.finishReason}), ${result.insertions.length} insertion${result.insertions.length === 1 ? '' : 's'}; prefill ${t.prefillMs.toFixed(0)} ms, ${t.perTokenMs.toFixed(1)} ms/token, total ${t.totalMs.toFixed(0)} ms`;
    const json = JSON.stringify({ schemaVersion: 1, model: this.model, strategy: this.label, options: this.options, result });
    const link = element('a', 'result-json', 'Result (JSON)');
    link.href = URL.createObjectURL(new Blob([json], { type: 'application/json' }));
    link.download = 'icot-result.json';
    this.summary.append(' ', link);
    this.setStatus('finished');
    this.root.dataset['state'] = 'finished';
    this.finished = { label: this.label, options: this.options, model: this.model, result };
  }
}
