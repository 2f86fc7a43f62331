import { ATTENTION_SHIFT_DEMO_SETTINGS } from '@icot/trigger-attention-shift';
import { PROBABILITY_GAP_DEMO_SETTINGS } from '@icot/trigger-probability-gap';
import { browserBackend } from './browser-backend.js';
import { BROWSER_STRATEGIES } from './browser-strategies.js';
import { serverBackend, type RunBackend, type RunOptionsJson } from './events.js';
import { browserRatingStore, ratingPairs, serverRatingStore, sha256Hex, showRatingPairs, type RatingStore } from './ratings.js';
import { RunView } from './run-view.js';
import { DEFAULT_STRATEGY, PRESETS, strategyForm, strategyLabel, strategyOptions, type StrategyNames } from './strategy-form.js';

/** What `GET api/config` says about the server (absent in browser mode). */
interface ServerConfig {
  readonly models: readonly { readonly id: string; readonly label: string; readonly demo: boolean }[];
  readonly limits: { readonly maxUploadBytes: number; readonly maxNewTokens: number };
  readonly ratings: boolean;
  readonly strategies: StrategyNames;
}

/** The demo model's question and signal (demo-model/icot-demo.json, written by the build). */
interface DemoInfo {
  readonly question: string;
  readonly signalTokenIds: readonly number[];
  readonly label: string;
}

const byId = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

interface PickedImage {
  readonly blob: Blob;
  readonly name: string;
  readonly url: string;
  readonly width: number;
  readonly height: number;
}

let image: PickedImage | undefined;

async function pickImage(blob: Blob, name: string): Promise<void> {
  const url = URL.createObjectURL(blob);
  const preview = byId<HTMLImageElement>('preview');
  preview.src = url;
  preview.hidden = false;
  const info = byId('image-info');
  try {
    await preview.decode();
    info.textContent = `${name}: ${preview.naturalWidth}x${preview.naturalHeight}, ${(blob.size / 1024).toFixed(0)} KiB`;
  } catch {
    info.textContent = `${name}: ${(blob.size / 1024).toFixed(0)} KiB (this browser cannot show it; the model may still read it)`;
  }
  if (image) URL.revokeObjectURL(image.url);
  image = { blob, name, url, width: preview.naturalWidth || 1, height: preview.naturalHeight || 1 };
}

function activateTab(name: string): void {
  for (const tab of document.querySelectorAll<HTMLButtonElement>('[role=tab]')) tab.setAttribute('aria-selected', String(tab.dataset['tab'] === name));
  for (const panel of document.querySelectorAll<HTMLElement>('.tab')) panel.hidden = panel.id !== `tab-${name}`;
  (document.querySelector('.input') as HTMLElement).hidden = name === 'rate';
}

async function main(): Promise<void> {
  const demo = (await fetch('demo-model/icot-demo.json').then((r) => r.json())) as DemoInfo;
  const config = (await fetch('api/config')
    .then((r) => (r.ok ? r.json() : undefined))
    .catch(() => undefined)) as ServerConfig | undefined;

  const backends = new Map<string, { readonly backend: RunBackend; readonly label: string; readonly models: readonly { id: string; label: string }[]; readonly names: StrategyNames; readonly ratings: () => RatingStore }>();
  if (config)
    backends.set('server', {
      backend: serverBackend(),
      label: `the icot web server (${location.host})`,
      models: config.models,
      names: config.strategies,
      ratings: config.ratings ? serverRatingStore : browserRatingStore,
    });
  const browserMode = (device: 'wasm' | 'webgpu') => ({
    backend: browserBackend(device, { signalTokenIds: demo.signalTokenIds, triggerSettings: { 'attention-shift': ATTENTION_SHIFT_DEMO_SETTINGS, 'probability-gap': PROBABILITY_GAP_DEMO_SETTINGS } }),
    label: `this browser (${device === 'wasm' ? 'WebAssembly' : 'WebGPU'}, demo model)`,
    models: [{ id: 'demo', label: 'demo: a tiny Qwen2-VL with random weights (gibberish text; shows the ICoT mechanics)' }],
    names: BROWSER_STRATEGIES,
    ratings: browserRatingStore,
  });
  backends.set('browser-wasm', browserMode('wasm'));
  // WebGPU only where the browser gives an adapter (navigator.gpu alone may have none)
  const gpu = (navigator as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (await gpu?.requestAdapter().catch(() => null)) backends.set('browser-webgpu', browserMode('webgpu'));
  const requested = new URLSearchParams(location.search).get('mode');
  const modeSelect = byId<HTMLSelectElement>('mode');
  for (const [key, entry] of backends) modeSelect.append(new Option(entry.label, key));
  if (requested && backends.has(requested)) modeSelect.value = requested;
  const note = byId('mode-note');
  const current = () => backends.get(modeSelect.value)!;
  const modelSelect = byId<HTMLSelectElement>('model');
  const fillModels = (): void => {
    modelSelect.replaceChildren(...current().models.map((m) => new Option(m.label, m.id)));
    note.textContent =
      modeSelect.value !== 'server'
        ? 'The demo model runs in this page (onnxruntime-web in a worker); ratings are kept in this browser (IndexedDB).'
        : !config?.ratings
          ? 'Ratings are kept in this browser (the server was started without --data-dir).'
          : '';
  };
  fillModels();

  byId<HTMLTextAreaElement>('question').value = demo.question;
  byId<HTMLInputElement>('image-file').addEventListener('change', (event) => {
    const file = (event.target as HTMLInputElement).files?.[0];
    if (file) void pickImage(file, file.name);
  });
  const useDemoImage = async (): Promise<void> => pickImage(await (await fetch('demo-model/image.png')).blob(), 'demo image.png');
  byId('demo-image').addEventListener('click', () => void useDemoImage());
  await useDemoImage();

  for (const tab of document.querySelectorAll<HTMLButtonElement>('[role=tab]')) tab.addEventListener('click', () => activateTab(tab.dataset['tab']!));

  let runForm = strategyForm(byId('strategy-run'), current().names, DEFAULT_STRATEGY);
  let formA = strategyForm(byId('strategy-a'), current().names, PRESETS['ads-random']![0]);
  let formB = strategyForm(byId('strategy-b'), current().names, PRESETS['ads-random']![1]);
  // another mode may offer other strategies: the forms are rebuilt with its names, keeping their settings
  modeSelect.addEventListener('change', () => {
    fillModels();
    const names = current().names;
    runForm = strategyForm(byId('strategy-run'), names, runForm.read());
    formA = strategyForm(byId('strategy-a'), names, formA.read());
    formB = strategyForm(byId('strategy-b'), names, formB.read());
    void updateCount();
  });
  byId<HTMLSelectElement>('preset').addEventListener('change', (event) => {
    const preset = PRESETS[(event.target as HTMLSelectElement).value];
    if (!preset) return;
    formA.write(preset[0]);
    formB.write(preset[1]);
  });
  for (const fieldset of [byId('strategy-a'), byId('strategy-b')])
    fieldset.addEventListener('change', () => {
      byId<HTMLSelectElement>('preset').value = 'custom';
    });

  /** Shared options of every run (RunDescription names). */
  const sharedOptions = (): RunOptionsJson => {
    const temperature = Number(byId<HTMLInputElement>('temperature').value || 0);
    const seed = Number(byId<HTMLInputElement>('seed').value || 0);
    return { maxNewTokens: Number(byId<HTMLInputElement>('max-new-tokens').value || 64), sampling: temperature > 0 ? { temperature, seed } : { seed } };
  };

  /** Start runs of `strategies` side by side in `output`; `stop` aborts them; resolves with their views when all ended. */
  const startRuns = async (output: HTMLElement, strategies: readonly { label: string; heading: string; options: RunOptionsJson }[], stop: HTMLButtonElement, start: HTMLButtonElement): Promise<RunView[] | undefined> => {
    output.replaceChildren();
    if (!image) return undefined;
    const picked = image;
    const controller = new AbortController();
    const views = strategies.map((s) => new RunView(output, s.label, picked.url, s.heading));
    stop.disabled = false;
    start.disabled = true;
    const onStop = (): void => controller.abort();
    stop.addEventListener('click', onStop, { once: true });
    const { backend } = current();
    const question = byId<HTMLTextAreaElement>('question').value;
    await Promise.all(
      strategies.map((s, i) =>
        backend.run({ image: picked.blob, imageName: picked.name, question, model: modelSelect.value, options: { ...sharedOptions(), ...s.options } }, (event) => views[i]!.handle(event), controller.signal),
      ),
    );
    for (const view of views) if (controller.signal.aborted) view.stopped();
    stop.removeEventListener('click', onStop);
    stop.disabled = true;
    start.disabled = false;
    return views;
  };

  const showError = (output: HTMLElement, error: Error): void => {
    const p = document.createElement('p');
    p.className = 'status error';
    p.textContent = error.message;
    output.replaceChildren(p);
  };

  byId('run').addEventListener('click', () => {
    const settings = runForm.read();
    let options;
    try {
      options = strategyOptions(settings);
    } catch (error) {
      return showError(byId('run-output'), error as Error);
    }
    void startRuns(byId('run-output'), [{ label: strategyLabel(settings), heading: strategyLabel(settings), options }], byId('stop-run'), byId('run'));
  });

  let compared: RunView[] | undefined;
  byId('compare').addEventListener('click', () => {
    const settings = [formA.read(), formB.read()];
    let options;
    try {
      options = settings.map(strategyOptions);
    } catch (error) {
      return showError(byId('compare-output'), error as Error);
    }
    byId<HTMLButtonElement>('to-rating').disabled = true;
    void startRuns(
      byId('compare-output'),
      settings.map((s, i) => ({ label: strategyLabel(s), heading: `${i === 0 ? 'A' : 'B'}: ${strategyLabel(s)}`, options: options[i]! })),
      byId('stop-compare'),
      byId('compare'),
    ).then((views) => {
      compared = views;
      byId<HTMLButtonElement>('to-rating').disabled = !views?.every((v) => v.finished);
    });
  });

  const exportLink = byId<HTMLAnchorElement>('export');
  const updateCount = async (): Promise<void> => {
    const store = current().ratings();
    const count = await store.count();
    byId('rating-count').textContent = `${count} rating${count === 1 ? '' : 's'} in ${store.where}.`;
  };
  exportLink.addEventListener('click', (event) => {
    event.preventDefault();
    void current()
      .ratings()
      .exportJsonl()
      .then((blob) => {
        const url = URL.createObjectURL(blob);
        const a = document.createElement('a');
        a.href = url;
        a.download = 'ratings.jsonl';
        a.click();
        setTimeout(() => URL.revokeObjectURL(url), 10_000);
      });
  });
  byId('to-rating').addEventListener('click', () => {
    const [a, b] = compared ?? [];
    if (!a?.finished || !b?.finished || !image) return;
    activateTab('rate');
    const picked = image;
    void picked.blob
      .arrayBuffer()
      .then(sha256Hex)
      .then((sha256) => {
        const first = a.finished!;
        const size = first.result.queryImage.size;
        showRatingPairs(
          byId('rating'),
          ratingPairs(first, b.finished!),
          { url: picked.url, name: picked.name, sha256, width: size.width, height: size.height },
          byId<HTMLTextAreaElement>('question').value,
          current().ratings(),
          () => void updateCount(),
        );
      });
  });
  void updateCount();
  document.body.dataset['ready'] = 'true';
}

void main();
