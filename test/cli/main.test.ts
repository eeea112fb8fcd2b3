// The `gradlab` command: the dispatcher's usage and exit codes, and its `lab` subcommand, which
// hands the command line to the lab package or, in an install without it, says where it is.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { installedCopy, runNode } from '../installed.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'dist', 'ts', 'cli', 'main.js');
const gradlab = (...args: string[]) => runNode(ROOT, [BIN, ...args]);

describe('gradlab <subcommand>', () => {
  it('lists the subcommands with --help (exit 0) and when none is given (exit 2)', async () => {
    const help = await gradlab('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: gradlab <subcommand>/);
    expect(help.stdout).toMatch(/^ {2}lab +the article's experiments/m);
    const none = await gradlab();
    expect(none.code).toBe(2);
    expect(none.stdout).toBe('');
    expect(none.stderr).toContain('gradlab: no subcommand given');
    expect(none.stderr).toContain('usage: gradlab <subcommand>');
  });

  it.each(['train', 'toString', '__proto__', '--lab'])('refuses the unknown subcommand %j with exit code 2', async (name) => {
    const result = await gradlab(name);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`gradlab: unknown subcommand '${name}'`);
    expect(result.stderr).toContain('usage: gradlab <subcommand>');
  });

  it('hands `lab …` to the lab package: its usage, its errors, its exit codes', async () => {
    const help = await gradlab('lab', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: gradlab lab \[experiment…\]/);
    const bogus = await gradlab('lab', '--bogus');
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toContain("gradlab: unknown option '--bogus'");
    expect(bogus.stderr).toContain('usage: gradlab lab');
    const run = await gradlab('lab', 'activations', '--quick', '--json', '--workers', '1');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).experiment).toBe('activations');
  });

  it('says where the lab is when gradlab is installed without it (exit 1)', async () => {
    const project = installedCopy();
    const result = await runNode(project, [join(project, 'node_modules', 'gradlab', 'dist', 'ts', 'cli', 'main.js'), 'lab', '--quick']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('gradlab: the lab is not installed');
    expect(result.stderr).toContain('npm install && npm start');
  });
});
