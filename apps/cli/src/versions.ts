import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

interface PackageJson {
  readonly name: string;
  readonly version: string;
  readonly dependencies?: Readonly<Record<string, string>>;
}

function readPackage(path: string): PackageJson {
  return JSON.parse(readFileSync(path, 'utf8')) as PackageJson;
}

/**
 * Name and version of every `@icot/*` package this command runs: the CLI's own dependencies and,
 * through them, theirs (each resolved from the package that depends on it, as Node loads them).
 */
export function icotPackageVersions(): Readonly<Record<string, string>> {
  const versions: Record<string, string> = {};
  const visit = (packageJsonPath: string): void => {
    const pkg = readPackage(packageJsonPath);
    if (versions[pkg.name] !== undefined) return;
    versions[pkg.name] = pkg.version;
    const require = createRequire(packageJsonPath);
    for (const name of Object.keys(pkg.dependencies ?? {}).filter((n) => n.startsWith('@icot/'))) {
      try {
        visit(require.resolve(`${name}/package.json`));
      } catch {
        // a package without ./package.json in its exports map: left out rather than guessed
      }
    }
  };
  visit(fileURLToPath(new URL('../package.json', import.meta.url)));
  return Object.fromEntries(Object.entries(versions).sort(([a], [b]) => (a < b ? -1 : 1)));
}
