import { constants } from 'node:fs';
import { access, copyFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OptionError } from '@icot/core';

/** The kinds of package the generator makes: one per extension point of the spec. */
export const PACKAGE_KINDS = ['selector', 'decoder', 'trigger', 'backend'] as const;

/** A kind of package: `selector` (`PatchSelectorV2`), `decoder` (`InsertionDecoderV2`), `trigger` (`TriggerV2`) or `backend` (a model runtime). */
export type PackageKind = (typeof PACKAGE_KINDS)[number];

/** What each kind implements and which conformance suite its generated test runs. */
export const KIND_DESCRIPTIONS: Readonly<Record<PackageKind, { readonly implements: string; readonly suite: string }>> = {
  selector: { implements: 'PatchSelectorV2 (which patches to feed back)', suite: 'describeSelectorConformance' },
  decoder: { implements: 'InsertionDecoderV2 (how patches are fed back)', suite: 'describeDecoderConformance' },
  trigger: { implements: 'TriggerV2 (when to insert)', suite: 'describeTriggerConformance' },
  backend: { implements: 'a SessionFactory for @icot/model (a model runtime)', suite: 'describeModelConformance' },
};

/** Options of {@link createPackage}. */
export interface NewPackageOptions {
  /** The workspace root: the package goes to `<root>/packages/<kind>-<name>`. */
  readonly root: string;
  readonly kind: PackageKind;
  /** Lower-case words joined by hyphens, e.g. `top-attention`; the package is `@icot/<kind>-<name>`. */
  readonly name: string;
  /** One sentence for package.json and the README (default: one naming the kind). */
  readonly description?: string;
}

/** What {@link createPackage} wrote. */
export interface NewPackageResult {
  /** The package folder. */
  readonly dir: string;
  readonly packageName: string;
  /** Files written, relative to the workspace root. */
  readonly files: readonly string[];
}

const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const TEMPLATES = fileURLToPath(new URL('../templates/', import.meta.url));

/** `top-attention` -> `TopAttention`. */
export function pascalCase(name: string): string {
  return name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

/** Check a kind and a name as typed; throws {@link OptionError} naming the problem. */
export function checkKindAndName(kind: string | undefined, name: string | undefined): { kind: PackageKind; name: string } {
  if (kind === undefined) throw new OptionError('--kind is required.', { hint: `Use one of: ${PACKAGE_KINDS.join(', ')}.` });
  if (!(PACKAGE_KINDS as readonly string[]).includes(kind)) throw new OptionError(`Unknown kind '${kind}'.`, { hint: `Use one of: ${PACKAGE_KINDS.join(', ')}.` });
  if (name === undefined || name === '') throw new OptionError('--name is required.', { hint: 'Pass lower-case words joined by hyphens, e.g. --name top-attention.' });
  if (!NAME.test(name)) throw new OptionError(`The name '${name}' is not lower-case words joined by hyphens.`, { hint: 'Use e.g. top-attention (the package becomes @icot/<kind>-top-attention).' });
  if (name.startsWith(`${kind}-`)) throw new OptionError(`The name '${name}' repeats the kind.`, { hint: `Use --name ${name.slice(kind.length + 1)}: the package is named @icot/${kind}-<name>.` });
  return { kind: kind as PackageKind, name };
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

/** Template files (`*.tmpl`) under `dir`, relative to it, without the suffix. */
async function templateFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await templateFiles(dir, rel)));
    else if (entry.name.endsWith('.tmpl')) out.push(rel);
  }
  return out.sort();
}

function packageJson(kind: PackageKind, name: string, packageName: string, description: string): string {
  const universal = kind !== 'backend';
  const dependencies: Record<string, string> =
    kind === 'backend'
      ? { '@icot/core': 'workspace:*', '@icot/model': 'workspace:*', '@icot/onnx-decoding': 'workspace:*', 'onnxruntime-node': '1.30.0' }
      : { '@icot/core': 'workspace:*' };
  const directory = `packages/${kind}-${name}`;
  const manifest = {
    name: packageName,
    version: '0.1.0',
    description,
    license: 'MIT',
    keywords: ['icot', 'interleaved-modal-chain-of-thought', 'vision-language-model', kind],
    type: 'module',
    sideEffects: false,
    exports: {
      '.': { '@icot/source': './src/index.ts', types: './dist/index.d.ts', default: './dist/index.js' },
      './package.json': './package.json',
    },
    files: ['dist', 'src', '!src/**/*.test.ts'],
    scripts: {
      build: 'tsc -p tsconfig.build.json',
      typecheck: universal ? 'tsc -p tsconfig.json --noEmit && tsc -p tsconfig.build.json --noEmit' : 'tsc -p tsconfig.json --noEmit',
      test: 'vitest run',
      lint: 'eslint src && publint --strict && attw --pack . --profile esm-only',
    },
    repository: { type: 'git', url: 'git+https://github.com/icot-dev/icot.git', directory },
    homepage: `https://github.com/icot-dev/icot/tree/main/${directory}#readme`,
    bugs: { url: 'https://github.com/icot-dev/icot/issues' },
    publishConfig: { access: 'public' },
    engines: { node: '>=20.11' },
    dependencies,
    devDependencies: { '@icot/testing': 'workspace:*' },
  };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

function usage(kind: PackageKind, Name: string, packageName: string): string {
  const common = `import { createSignalTrigger, generateICoT } from '@icot/core';
import { loadOnnxModel } from '@icot/backend-onnx';
import { createAdsSelector } from '@icot/selector-ads';
import { createInputInsertionDecoder } from '@icot/decoder-input';`;
  const parts: Record<PackageKind, { import: string; model: string; selector: string; decoder: string; trigger: string }> = {
    selector: { import: `import { create${Name}Selector } from '${packageName}';`, model: `await loadOnnxModel('onnx-community/Qwen2-VL-2B-Instruct')`, selector: `create${Name}Selector()`, decoder: 'createInputInsertionDecoder()', trigger: "createSignalTrigger({ signal: 'newline', every: 2 })" },
    decoder: { import: `import { create${Name}Decoder } from '${packageName}';`, model: `await loadOnnxModel('onnx-community/Qwen2-VL-2B-Instruct')`, selector: 'createAdsSelector()', decoder: `create${Name}Decoder()`, trigger: "createSignalTrigger({ signal: 'newline', every: 2 })" },
    trigger: { import: `import { create${Name}Trigger } from '${packageName}';`, model: `await loadOnnxModel('onnx-community/Qwen2-VL-2B-Instruct')`, selector: 'createAdsSelector()', decoder: 'createInputInsertionDecoder()', trigger: `create${Name}Trigger({ threshold: 0.3 })` },
    backend: { import: `import { load${Name}Model } from '${packageName}';`, model: `await load${Name}Model('/path/to/Qwen2-VL-2B-Instruct')`, selector: 'createAdsSelector()', decoder: 'createInputInsertionDecoder()', trigger: "createSignalTrigger({ signal: 'newline', every: 2 })" },
  };
  const p = parts[kind];
  return `${common}
${p.import}

const model = ${p.model};
const result = await generateICoT({
  model,
  prompt: {
    messages: [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'Describe it step by step.' }] }],
    images: [await model.encodeImage(image)],
  },
  selector: ${p.selector},
  decoder: ${p.decoder},
  trigger: ${p.trigger},
});`;
}

function readme(kind: PackageKind, name: string, packageName: string, description: string): string {
  const Name = pascalCase(name);
  const { implements: what, suite } = KIND_DESCRIPTIONS[kind];
  return `# ${packageName}

${description}

It implements ${what} of the icot spec v2 (\`packages/core/src/spec\`,
[the design note](../../docs/design/spec-v2.md)) and runs \`${suite}\` from
[\`@icot/testing\`](../testing) in its tests.

## Install

\`\`\`sh
npm install ${packageName} @icot/core
\`\`\`

## Use

\`\`\`ts
${usage(kind, Name, packageName)}
\`\`\`

(\`image\` is an \`RgbImage\`, e.g. \`await readImageFile('photo.jpg')\` from \`@icot/image/node\`.)

## Develop

\`\`\`sh
pnpm test        # the conformance suite and the unit tests
pnpm typecheck
pnpm lint
\`\`\`

Created by \`pnpm --silent new-package --kind ${kind} --name ${name}\`; see
[Contributing](../../docs/contributing.md).
`;
}

function changeset(packageName: string, kind: PackageKind): string {
  return `---
"${packageName}": minor
---

New ${kind} package ${packageName}: ${KIND_DESCRIPTIONS[kind].implements}.
`;
}

/**
 * Create a package of `kind` in the workspace at `root`: package.json (exports map with the
 * `@icot/source` condition, scripts, workspace dependencies), tsconfig.json, tsconfig.build.json,
 * vitest.config.ts, a minimal working implementation of the spec interface, a test that runs the
 * matching conformance suite of `@icot/testing`, a README, the LICENSE of the workspace and a
 * changeset. Refuses a folder that exists.
 */
export async function createPackage(options: NewPackageOptions): Promise<NewPackageResult> {
  const { kind, name } = checkKindAndName(options.kind, options.name);
  const root = options.root;
  if (!(await exists(join(root, 'pnpm-workspace.yaml'))))
    throw new OptionError(`${root} is not the root of a pnpm workspace (no pnpm-workspace.yaml).`, { hint: 'Run the command in the icot repository, or pass --root.' });
  const packageName = `@icot/${kind}-${name}`;
  const dir = join(root, 'packages', `${kind}-${name}`);
  if (await exists(dir)) throw new OptionError(`${relative(root, dir)} exists already.`, { hint: 'Pick another --name, or delete that folder.' });
  const description = options.description ?? `A ${kind} for ICoT: ${KIND_DESCRIPTIONS[kind].implements}.`;
  const Name = pascalCase(name);
  const fill = (text: string) =>
    text.replaceAll('__package__', packageName).replaceAll('__Name__', Name).replaceAll('__name__', name).replaceAll('__kind__', kind).replaceAll('__description__', description);

  const files = new Map<string, string>();
  for (const source of ['common', kind])
    for (const file of await templateFiles(join(TEMPLATES, source))) files.set(file.slice(0, -'.tmpl'.length), fill(await readFile(join(TEMPLATES, source, file), 'utf8')));
  if (kind === 'backend')
    // a Node package: its build sees Node's types (universal packages build with "types": [])
    files.set('tsconfig.build.json', (files.get('tsconfig.build.json') ?? '').replace(', "types": []', ''));
  files.set('package.json', packageJson(kind, name, packageName, description));
  files.set('README.md', readme(kind, name, packageName, description));

  const written: string[] = [];
  for (const [file, text] of files) {
    const path = join(dir, file);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
    written.push(relative(root, path));
  }
  if (await exists(join(root, 'LICENSE'))) {
    await copyFile(join(root, 'LICENSE'), join(dir, 'LICENSE'));
    written.push(relative(root, join(dir, 'LICENSE')));
  }
  if ((await exists(join(root, '.changeset'))) && (await stat(join(root, '.changeset'))).isDirectory()) {
    const path = join(root, '.changeset', `new-${kind}-${name}.md`);
    if (!(await exists(path))) {
      await writeFile(path, changeset(packageName, kind));
      written.push(relative(root, path));
    }
  }
  return { dir, packageName, files: written.sort() };
}
