/**
 * The package generator behind `pnpm --silent new-package --kind selector|decoder|trigger|backend --name NAME`:
 * a new package that implements one extension point of the spec and passes its conformance suite
 * on the first run.
 * @module
 */
export { checkKindAndName, createPackage, KIND_DESCRIPTIONS, PACKAGE_KINDS, pascalCase, type NewPackageOptions, type NewPackageResult, type PackageKind } from './generate.js';
export { HELP, main, type NewPackageIo } from './main.js';
