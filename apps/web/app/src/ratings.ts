import type { InsertionRecord } from '@icot/core';
import { renderSelectionOverlay } from '@icot/overlay';
import type { RatingInput, RatingRecord } from '../../src/ratings.js';
import type { FinishedRun } from './run-view.js';

/** Where ratings are kept: the server's `ratings.jsonl`, or IndexedDB in this browser. */
export interface RatingStore {
  readonly where: string;
  save(input: RatingInput): Promise<RatingRecord>;
  count(): Promise<number>;
  /** All ratings as JSON Lines. */
  exportJsonl(): Promise<Blob>;
}

/** Ratings on the server (`POST /api/ratings`, `GET /api/ratings`). */
export function serverRatingStore(): RatingStore {
  return {
    where: "the server's ratings.jsonl",
    async save(input) {
      const response = await fetch('api/ratings', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...input, source: 'server' }) });
      const body = (await response.json()) as RatingRecord & { error?: { message: string; hint: string | null } };
      if (!response.ok) throw new Error(`${body.error?.message ?? response.statusText}${body.error?.hint ? ` ${body.error.hint}` : ''}`);
      return body;
    },
    async count() {
      const text = await (await this.exportJsonl()).text();
      return text.split('\n').filter(Boolean).length;
    },
    async exportJsonl() {
      const response = await fetch('api/ratings');
      return new Blob([await response.arrayBuffer()], { type: 'application/x-ndjson' });
    },
  };
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

/** Ratings in this browser's IndexedDB (database `icot-web`, store `ratings`; kept until the site's data is cleared). */
export function browserRatingStore(): RatingStore {
  let db: Promise<IDBDatabase> | undefined;
  const open = (): Promise<IDBDatabase> =>
    (db ??= new Promise((resolve, reject) => {
      const r = indexedDB.open('icot-web', 1);
      r.onupgradeneeded = () => r.result.createObjectStore('ratings', { keyPath: 'id' });
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    }));
  const all = async (): Promise<RatingRecord[]> => {
    const records = await request((await open()).transaction('ratings').objectStore('ratings').getAll() as IDBRequest<RatingRecord[]>);
    return records.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  };
  return {
    where: "this browser's IndexedDB",
    async save(input) {
      const preferred = input.choice === 'neither' ? null : input.regions[input.choice === 'first' ? 0 : 1].strategy;
      const record: RatingRecord = { schemaVersion: 1, id: crypto.randomUUID(), createdAt: new Date().toISOString(), ...input, source: 'browser', preferred };
      const transaction = (await open()).transaction('ratings', 'readwrite');
      transaction.objectStore('ratings').add(record);
      await new Promise<void>((resolve, reject) => {
        transaction.oncomplete = () => resolve();
        transaction.onerror = () => reject(transaction.error);
      });
      return record;
    },
    async count() {
      return request((await open()).transaction('ratings').objectStore('ratings').count());
    },
    async exportJsonl() {
      return new Blob((await all()).map((record) => `${JSON.stringify(record)}\n`), { type: 'application/x-ndjson' });
    },
  };
}

/** Two insertions of two runs at the same step after the same text, with different patches: a pair to rate. */
export interface RatingPair {
  readonly a: { readonly run: FinishedRun; readonly insertion: InsertionRecord };
  readonly b: { readonly run: FinishedRun; readonly insertion: InsertionRecord };
}

/**
 * The pairs two runs offer: their i-th insertions where both came at the same step after the same
 * tokens (two strategies that share the trigger always agree up to their first insertion; after
 * it, the answers may differ) and chose different patches.
 */
export function ratingPairs(a: FinishedRun, b: FinishedRun): RatingPair[] {
  const pairs: RatingPair[] = [];
  a.result.insertions.forEach((insA, i) => {
    const insB = b.result.insertions[i];
    if (!insB || insA.step !== insB.step || insA.stepText !== insB.stepText) return;
    if (insA.selected.join() === insB.selected.join()) return;
    // the same tokens up to and including the step's signal token
    if (a.result.tokens.slice(0, insA.step + 1).join() !== b.result.tokens.slice(0, insB.step + 1).join()) return;
    pairs.push({ a: { run: a, insertion: insA }, b: { run: b, insertion: insB } });
  });
  return pairs;
}

/** SHA-256 of bytes, lowercase hex. */
export async function sha256Hex(bytes: ArrayBuffer): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** The image a rating is about. */
export interface RatedImage {
  readonly url: string;
  readonly name: string;
  readonly sha256: string;
  readonly width: number;
  readonly height: number;
}

/**
 * Show `pairs` one after the other in `container`, each as the step's text and two regions in a
 * random order (the strategies are not shown), with buttons; each answer is saved to `store`
 * before the next pair appears. `onSaved` sees each stored record.
 */
export function showRatingPairs(container: HTMLElement, pairs: readonly RatingPair[], image: RatedImage, question: string, store: RatingStore, onSaved: (record: RatingRecord) => void): void {
  let index = 0;
  const next = (): void => {
    container.replaceChildren();
    const pair = pairs[index];
    if (!pair) {
      const done = document.createElement('p');
      done.className = 'note';
      done.dataset['state'] = 'done';
      done.textContent = pairs.length ? `All ${pairs.length} pairs rated; saved in ${store.where}.` : 'No pairs to rate: the two runs have no insertion at the same step with different patches. Try ADS vs random.';
      container.append(done);
      return;
    }
    const swap = crypto.getRandomValues(new Uint8Array(1))[0]! % 2 === 1;
    const shown = swap ? [pair.b, pair.a] : [pair.a, pair.b];
    const layout = pair.a.run.result.queryImage;
    const heading = document.createElement('h3');
    heading.textContent = `Pair ${index + 1} of ${pairs.length}: which region is more relevant to this step?`;
    const step = document.createElement('pre');
    step.className = 'step-text';
    step.textContent = pair.a.insertion.stepText;
    const figures = document.createElement('div');
    figures.className = 'pair';
    shown.forEach((side, i) => {
      const figure = document.createElement('figure');
      figure.innerHTML = renderSelectionOverlay({ image: { href: image.url }, layout, groups: [{ selected: side.insertion.selected, color: '#ffd400', label: `Region ${i + 1}` }], label: `Region ${i + 1}` });
      const caption = document.createElement('figcaption');
      caption.textContent = `Region ${i + 1}`;
      figure.append(caption);
      figures.append(figure);
    });
    const buttons = document.createElement('div');
    buttons.className = 'actions';
    const status = document.createElement('p');
    status.className = 'muted';
    for (const [choice, text] of [
      ['first', 'Region 1 is more relevant'],
      ['second', 'Region 2 is more relevant'],
      ['neither', "Can't tell"],
    ] as const) {
      const button = document.createElement('button');
      button.type = 'button';
      button.dataset['choice'] = choice;
      button.textContent = text;
      button.addEventListener('click', () => {
        for (const b of buttons.querySelectorAll('button')) b.disabled = true;
        const region = (side: RatingPair['a']) => ({ strategy: side.run.label, options: side.run.options, selected: [...side.insertion.selected] });
        store
          .save({
            model: pair.a.run.model,
            question,
            image: { name: image.name, sha256: image.sha256, width: image.width, height: image.height },
            step: pair.a.insertion.step,
            stepText: pair.a.insertion.stepText,
            regions: [region(shown[0]!), region(shown[1]!)],
            choice,
          })
          .then(
            (record) => {
              onSaved(record);
              index += 1;
              next();
            },
            (error: Error) => {
              status.textContent = `Not saved: ${error.message}`;
              for (const b of buttons.querySelectorAll('button')) b.disabled = false;
            },
          );
      });
      buttons.append(button);
    }
    container.append(heading, step, figures, buttons, status);
  };
  next();
}
