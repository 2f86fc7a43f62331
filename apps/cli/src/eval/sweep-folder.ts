/**
 * A sweep folder on disk: `sweep.json` (the plan), one run folder per cell with `cell.json` (the
 * options the sweep started it with), and the comparison of their reports.
 * @module
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { JSON_SCHEMA_VERSION } from '@icot/core';
import { compareSweep, EvalDataError, type FlagValue, type RunReport, type SweepCell, type SweepComparison, type SweepPlan } from '@icot/eval';
import { isRunFolder, reportRunFolder } from '@icot/eval/node';

/** The plan's file in a sweep folder. */
export const SWEEP_FILE = 'sweep.json';
/** The options a cell was started with, in its run folder. */
export const CELL_FILE = 'cell.json';

/** What `sweep.json` holds: the plan and where it came from. */
export interface SweepFolderPlan extends SweepPlan {
  /** The sweep file, as given. */
  readonly file: string;
  /** The dataset folder (absolute). */
  readonly data: string;
}

/** Write the plan into the sweep folder (it replaces an earlier plan: a sweep may grow). */
export async function writeSweepPlan(dir: string, plan: SweepFolderPlan): Promise<void> {
  await writeFile(join(dir, SWEEP_FILE), `${JSON.stringify({ schemaVersion: JSON_SCHEMA_VERSION, ...plan }, null, 2)}\n`);
}

/** Read a sweep folder's plan; a folder without one is an {@link EvalDataError}. */
export async function readSweepPlan(dir: string): Promise<SweepFolderPlan> {
  const file = join(dir, SWEEP_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new EvalDataError(`${dir} is not a sweep folder: it has no ${SWEEP_FILE}.`, { hint: 'Pass the folder `icot eval sweep` wrote (its --out, or the sweep file\'s name beside it).', location: { file }, cause: error });
  }
  let plan: SweepFolderPlan;
  try {
    plan = JSON.parse(text) as SweepFolderPlan;
  } catch (error) {
    throw new EvalDataError(`${file} is not JSON (${(error as Error).message}).`, { hint: 'Run the sweep again: it writes the plan anew.', location: { file } });
  }
  if (typeof plan !== 'object' || plan === null || !Array.isArray(plan.cells) || typeof plan.dataset !== 'string' || typeof plan.data !== 'string' || plan.cells.some((c) => typeof c?.folder !== 'string' || typeof c.flags !== 'object'))
    throw new EvalDataError(`${file} is not a sweep plan (name, dataset, data, cells).`, { hint: 'Run the sweep again: it writes the plan anew.', location: { file } });
  return plan;
}

/** Record the options a cell is started with. */
export async function writeCellFile(dir: string, cell: SweepCell): Promise<void> {
  await writeFile(join(dir, CELL_FILE), `${JSON.stringify({ schemaVersion: JSON_SCHEMA_VERSION, folder: cell.folder, role: cell.role, axes: cell.axes, flags: cell.flags, args: cell.args }, null, 2)}\n`);
}

/** The options a cell's folder was started with, or null when it has no cell file. */
export async function readCellFlags(dir: string): Promise<Readonly<Record<string, FlagValue>> | null> {
  const file = join(dir, CELL_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return null;
  }
  try {
    const value = JSON.parse(text) as { flags?: unknown };
    if (typeof value.flags === 'object' && value.flags !== null) return value.flags as Record<string, FlagValue>;
  } catch {
    // reported below
  }
  throw new EvalDataError(`${file} is not a cell file of icot eval sweep.`, { hint: 'Move that run folder away, or delete its cell.json if the run is one of this sweep.', location: { file } });
}

/** The report of each cell that has started (null for the others). */
export async function reportCells(dir: string, plan: SweepFolderPlan, data: string = plan.data): Promise<Map<string, RunReport | null>> {
  const reports = new Map<string, RunReport | null>();
  for (const cell of plan.cells) {
    const folder = join(dir, cell.folder);
    reports.set(cell.folder, (await isRunFolder(folder)) ? (await reportRunFolder(folder, { data })).report : null);
  }
  return reports;
}

/** A sweep folder's runs side by side. */
export async function compareSweepFolder(dir: string, options: { readonly data?: string; readonly paper?: boolean } = {}): Promise<SweepComparison> {
  const plan = await readSweepPlan(dir);
  return compareSweep(plan, await reportCells(dir, plan, options.data ?? plan.data), { paper: options.paper === true });
}
