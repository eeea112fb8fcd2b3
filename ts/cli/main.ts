#!/usr/bin/env node
/**
 * The package's `gradlab` command: `gradlab <subcommand> [arguments…]`. Each subcommand is a
 * module of this folder exporting `run(argv)`, which gets the arguments after its name and
 * resolves to the exit code; this file only picks the module from {@link SUBCOMMANDS}.
 */

/** What a subcommand module exports. */
export interface Subcommand {
  /** Runs the subcommand on the arguments after its name; resolves to the process's exit code. */
  run(argv: string[]): Promise<number>;
}

/** Every subcommand: its one-line summary and its module, loaded only when it runs. */
const SUBCOMMANDS: Record<string, { summary: string; load(): Promise<Subcommand> }> = {
  doctor: { summary: "diagnose a network's gradient health on data, and try the article's remedies on it", load: () => import('./doctor.js') },
  export: { summary: 'the network as a PyTorch project (model.py, train.py for torchrun) or an ONNX file', load: () => import('./export.js') },
  lab: { summary: "the article's experiments on real MNIST digits, tables and an HTML report", load: () => import('./lab.js') },
};

const USAGE = `usage: gradlab <subcommand> [arguments…]

subcommands:
${Object.entries(SUBCOMMANDS)
  .map(([name, { summary }]) => `  ${name.padEnd(10)} ${summary}`)
  .join('\n')}

gradlab <subcommand> --help tells more.`;

/** Runs the command line `argv` (what follows `gradlab`) and resolves to the exit code. */
async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '-h' || name === '--help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const subcommand = name !== undefined && Object.hasOwn(SUBCOMMANDS, name) ? SUBCOMMANDS[name] : undefined;
  if (subcommand === undefined) {
    process.stderr.write(`gradlab: ${name === undefined ? 'no subcommand given' : `unknown subcommand '${name}'`}\n\n${USAGE}\n`);
    return 2;
  }
  return (await subcommand.load()).run(rest);
}

process.exitCode = await main(process.argv.slice(2));
