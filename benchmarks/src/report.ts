/** One measured number of a benchmark, as printed by `pnpm bench --json` (one JSON object per line). */
export interface BenchRow {
  readonly section: string;
  readonly name: string;
  readonly value: number;
  readonly unit: string;
}

/** What a benchmark section produces: a table for people and rows for machines. */
export interface SectionResult {
  /** Human-readable report (title line + table). */
  readonly text: string;
  /** The measured numbers, named in kebab-case, stable across versions. */
  readonly rows: readonly Omit<BenchRow, 'section'>[];
}

/**
 * Prints benchmark results. In JSON mode stdout carries only JSON Lines (`{"section", "name",
 * "value", "unit"}`, one per measured row) and the human tables go to stderr; otherwise the tables
 * go to stdout.
 */
export class BenchReport {
  constructor(
    private readonly json: boolean,
    private readonly stdout: NodeJS.WritableStream = process.stdout,
    private readonly stderr: NodeJS.WritableStream = process.stderr,
  ) {}

  /** A line of context (machine, settings), never on stdout in JSON mode. */
  note(line: string): void {
    (this.json ? this.stderr : this.stdout).write(`${line}\n`);
  }

  /** Print one section's result. */
  section(section: string, result: SectionResult): void {
    (this.json ? this.stderr : this.stdout).write(`${result.text}\n\n`);
    if (!this.json) return;
    for (const row of result.rows) {
      if (!Number.isFinite(row.value)) throw new Error(`benchmark row ${section}/${row.name} is not a finite number (${row.value})`);
      this.stdout.write(`${JSON.stringify({ section, name: row.name, value: row.value, unit: row.unit })}\n`);
    }
  }
}
