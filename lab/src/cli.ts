/**
 * `gradlab lab [experiment…] [--quick] [--seed N] [--json] [--out DIR] [--workers N]`: runs the
 * lab's experiments in worker threads, prints their tables (or JSON), writes the HTML report.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ExperimentName } from './experiment.js';
import { experiments } from './experiments/index.js';
import { USAGE, UsageError, parseArgs, prepareOutput, type LabOptions } from './options.js';
import { runInWorkers } from './pool.js';
import { Progress } from './progress.js';
import { renderReport, type ReportSection } from './report.js';
import { renderTable } from './table.js';

export async function runLab(options: LabOptions): Promise<void> {
  const dir = options.out === undefined ? undefined : await prepareOutput(options.out);
  const progress = new Progress();
  const results = new Map<ExperimentName, { experiment: ExperimentName }>();
  const started = Date.now();
  await runInWorkers(options.names, { seed: options.seed, quick: options.quick, size: options.workers }, {
    onProgress: (name, run, done, total) => progress.update(name, run, done, total),
    onResult: (name, result) => {
      results.set(name, result as { experiment: ExperimentName });
      if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    },
  });
  const sections: ReportSection[] = options.names.map((name) => ({ experiment: experiments[name]!, result: results.get(name)! }));
  if (!options.json) {
    for (const { experiment, result } of sections) {
      process.stdout.write(`\n== ${experiment.title} ==\n\n`);
      for (const table of experiment.tables(result)) process.stdout.write(`${renderTable(table)}\n\n`);
    }
  }
  if (dir !== undefined) {
    const date = new Date().toISOString();
    await writeFile(join(dir, 'report.html'), renderReport(sections, { seed: options.seed, quick: options.quick, date }));
    for (const { experiment, result } of sections) await writeFile(join(dir, `${experiment.name}.json`), `${JSON.stringify(result, null, 2)}\n`);
    process.stderr.write(`gradlab: wrote ${join(dir, 'report.html')} and ${sections.length} JSON files\n`);
  }
  process.stderr.write(`gradlab: lab finished in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

/**
 * Runs the command line `argv` (`['lab', …]`, as after `gradlab`) and resolves to the exit
 * code: 0 done, 2 a usage mistake (reported with the usage), 1 a failure (with its stack).
 */
export async function run(argv: string[]): Promise<number> {
  let options: LabOptions | 'help';
  try {
    options = parseArgs(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`gradlab: ${error.message}\n\n${USAGE}\n`);
      return 2;
    }
    throw error;
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    await runLab(options);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`gradlab: ${error.message}\n`);
      return 2;
    }
    process.stderr.write(`gradlab: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  }
}
