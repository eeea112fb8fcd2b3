/**
 * `gradlab doctor <spec.json> --data <source> [--labels <file>] [--json] [--out DIR] [--seed N]
 * [--steps N] [--no-trials]`: reads the spec and the data from disk, runs `diagnose` (the
 * original network and the remedies, in worker threads), prints the report as text or one
 * JSON document, and writes the HTML report. Exit codes: 0 done, 1 the spec, the data or the
 * run failed (a typed error's message), 2 a usage error (one line).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { GradlabError } from '../runtime/errors.js';
import { parseBuiltinSource } from '../data/formats/builtin.js';
import type { DataFile } from '../data/formats/file.js';
import { loadDataSource } from '../data/formats/source.js';
import { renderDoctorHtml } from '../doctor/html.js';
import type { DoctorReport } from '../doctor/report.js';
import { prepareOutput } from './output-dir.js';
import { UsageError } from './usage-error.js';
import { validateSpec, type ModelSpec } from '../model/spec.js';
import type { Dataset } from '../model/types.js';
import { init } from '../runtime/wasm.js';
import { DOCTOR_USAGE, parseDoctorArgs, type DoctorArgs } from './doctor-args.js';
import { renderDoctorText } from './doctor-text.js';

/** How far one run of the doctor has got (what `diagnose` reports). */
export interface DoctorProgress {
  run: string;
  step: number;
  steps: number;
}

/** What the command needs from its surroundings; tests pass their own streams. */
export interface DoctorEnvironment {
  diagnose: (spec: ModelSpec, data: Dataset, options: { seed: number; steps?: number; trials: boolean; onProgress: (progress: DoctorProgress) => void }) => Promise<DoctorReport>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Whether stderr is a terminal (then progress redraws one line). */
  interactive: boolean;
}

async function readInput(path: string, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (error) {
    throw new UsageError(`${what}: cannot read '${path}': ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function readSpec(path: string): Promise<ModelSpec> {
  const text = new TextDecoder().decode(await readInput(path, '<spec.json>'));
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new GradlabError({ code: 'InvalidSpec', op: 'doctor', arg: path, expected: 'a JSON model spec', actual: error instanceof Error ? error.message : String(error), message: `${path} is not JSON: ${error instanceof Error ? error.message : String(error)}` });
  }
  return validateSpec(json);
}

async function loadData(args: DoctorArgs, spec: ModelSpec): Promise<Dataset> {
  const options = { labelColumn: args.labelColumn, seed: args.seed };
  if (parseBuiltinSource(args.data) !== undefined) {
    if (args.labels !== undefined) throw new UsageError(`--labels goes with a data file, not the built-in source '${args.data}'`);
    return loadDataSource(spec, args.data, options);
  }
  const file = async (path: string, flag: string): Promise<DataFile> => ({ name: basename(path), bytes: await readInput(path, flag) });
  const labels = args.labels === undefined ? undefined : await file(args.labels, '--labels');
  return loadDataSource(spec, await file(args.data, '--data'), { ...options, labels });
}

/** Progress on stderr: one redrawn line on a terminal, a line per finished run otherwise. */
function progressReporter(environment: DoctorEnvironment): { update: (progress: DoctorProgress) => void; end: () => void } {
  const runs = new Map<string, DoctorProgress>();
  let drawn = false;
  return {
    update(progress) {
      runs.set(progress.run, progress);
      if (environment.interactive) {
        const line = [...runs.values()].filter((p) => p.step < p.steps).map((p) => `${p.run} ${p.step}/${p.steps}`).join(' · ');
        environment.stderr(`\r\x1b[2Kgradlab doctor: ${line}`);
        drawn = true;
      } else if (progress.step === progress.steps) {
        environment.stderr(`gradlab doctor: ${progress.run} trained (${progress.steps} steps)\n`);
      }
    },
    end() {
      if (drawn) environment.stderr('\r\x1b[2K');
    },
  };
}

/** Runs the command on `argv` (the arguments after `doctor`) and returns the exit code. */
export async function runDoctor(argv: readonly string[], environment: DoctorEnvironment): Promise<number> {
  try {
    const args = parseDoctorArgs(argv);
    if (args === 'help') {
      environment.stdout(`${DOCTOR_USAGE}\n`);
      return 0;
    }
    const dir = args.out === undefined ? undefined : await prepareOutput(args.out);
    await init();
    const spec = await readSpec(args.specPath);
    const data = await loadData(args, spec);
    const progress = progressReporter(environment);
    let report: DoctorReport;
    try {
      report = await environment.diagnose(spec, data, { seed: args.seed, steps: args.steps, trials: args.trials, onProgress: progress.update });
    } finally {
      progress.end();
    }
    environment.stdout(args.json ? `${JSON.stringify(report)}\n` : renderDoctorText(report));
    if (dir !== undefined) {
      const meta = { spec: basename(args.specPath), data: args.data, seed: args.seed, date: new Date().toISOString() };
      await writeFile(join(dir, 'doctor.html'), renderDoctorHtml(report, meta));
      await writeFile(join(dir, 'doctor.json'), `${JSON.stringify(report, null, 2)}\n`);
      environment.stderr(`gradlab doctor: wrote ${join(dir, 'doctor.html')} and doctor.json\n`);
    }
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      environment.stderr(`gradlab doctor: ${error.message}\n`);
      return 2;
    }
    if (error instanceof GradlabError) {
      environment.stderr(`gradlab doctor: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

/** `gradlab doctor …` (the arguments after `doctor`): the real `diagnose` on the process's streams. */
export async function run(argv: string[]): Promise<number> {
  const { diagnose } = await import('../doctor/diagnose.js');
  return runDoctor(argv, {
    diagnose,
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    interactive: process.stderr.isTTY === true,
  });
}
