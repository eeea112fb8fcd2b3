#!/usr/bin/env node
/**
 * The consumer matrix: gradlab as a dependency, tried as its users would. `npm pack` makes the
 * tarball from the built package (dist/), each scenario gets a fresh project in a temporary
 * folder with the tarball installed by npm, builds it the way that set-up does (Node as is,
 * tsc, Vite, esbuild, webpack, Rollup, a static page with an import map) and runs it (Node, or
 * Debian's Chromium for the pages). Every project trains the same network in-thread and in a
 * worker (train.ts); a scenario passes when both loss curves are finite and equal to what the
 * repository's own build computes in this Node, and when neither npm nor the build printed a
 * warning.
 *
 *   node test/consumers/run.mjs                 # every scenario, a table, exit code 1 on a failure
 *   node test/consumers/run.mjs vite esbuild    # some scenarios
 *   GRADLAB_NODE=/path/to/node node test/consumers/run.mjs   # run the Node scenarios on another Node
 *
 * The bundlers come from this folder's own package.json (installed here on first use), so the
 * library's dev dependencies stay small; npm works from its cache first (--prefer-offline).
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { chromiumMissing, launchChromium, pageResult, servePage } from '../browser/chromium.mjs';

const run = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.join(HERE, '..', '..');
const PROJECTS = path.join(HERE, 'projects');
const rootRequire = createRequire(path.join(ROOT, 'package.json'));
const NPM_FLAGS = ['--no-audit', '--no-fund', '--prefer-offline', '--loglevel=warn'];

/** `command` in `cwd`; resolves with stdout and stderr, rejects with both in the message. */
async function sh(command, args, cwd, env = process.env) {
  try {
    return await run(command, args, { cwd, env, maxBuffer: 64 << 20, timeout: 240_000 });
  } catch (error) {
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${error.stdout ?? ''}${error.stderr ?? error.message}`);
  }
}

/** Lines of npm or build output that warn; a scenario with any of them fails. */
function warnings(text) {
  return text.split('\n').filter((line) => /warn/i.test(line));
}

/** train.ts as JavaScript: ESM for the modules, CommonJS for `require` projects. */
function transpiled(format) {
  const ts = rootRequire('typescript');
  const source = readFileSync(path.join(HERE, 'train.ts'), 'utf8');
  const module = format === 'cjs' ? ts.ModuleKind.CommonJS : ts.ModuleKind.ES2022;
  return ts.transpileModule(source, { compilerOptions: { target: ts.ScriptTarget.ES2022, module } }).outputText;
}

/** Bundlers installed in this folder (first use only). */
async function bundlers() {
  if (!existsSync(path.join(HERE, 'node_modules', 'webpack'))) await sh('npm', ['ci', ...NPM_FLAGS], HERE);
  const local = createRequire(path.join(HERE, 'package.json'));
  const load = (name) => import(pathToFileURL(local.resolve(name)).href);
  return {
    esbuild: await load('esbuild'),
    webpack: (await load('webpack')).default,
    rollup: await load('rollup'),
    nodeResolve: (await load('@rollup/plugin-node-resolve')).nodeResolve,
    vite: await import(pathToFileURL(rootRequire.resolve('vite')).href),
  };
}

/**
 * A fresh project: `template`'s files, train.ts (or its JavaScript) under `trainFile`, the
 * tarball installed with `extra` packages. Returns its folder and npm's warnings.
 */
async function project(context, template, trainFile, { packageJson, extra = [] } = {}) {
  const dir = await mkdtemp(path.join(tmpdir(), `gradlab-consumer-${template}-`));
  context.cleanup.push(dir);
  cpSync(path.join(PROJECTS, template), dir, { recursive: true });
  if (packageJson) writeFileSync(path.join(dir, 'package.json'), JSON.stringify(packageJson, null, 2));
  const { type } = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const train = trainFile.endsWith('.ts') ? readFileSync(path.join(HERE, 'train.ts'), 'utf8') : transpiled(type === 'commonjs' && trainFile.endsWith('.js') ? 'cjs' : 'esm');
  writeFileSync(path.join(dir, trainFile), train);
  const { stdout, stderr } = await sh('npm', ['install', ...NPM_FLAGS, context.tarball, ...extra], dir);
  return { dir, warnings: warnings(stdout + stderr) };
}

/** Runs a Node entry point and reads the JSON line it prints. */
async function nodeResult(dir, entry) {
  const { stdout, stderr } = await sh(process.env.GRADLAB_NODE ?? process.execPath, [entry], dir);
  return { result: JSON.parse(stdout.trim().split('\n').pop()), warnings: warnings(stderr) };
}

/** Serves `root` statically and reads what the page published in Chromium. */
async function browserResult(context, root) {
  const server = await servePage(root, false);
  try {
    return await pageResult(context.browser ??= await launchChromium(), server.url);
  } finally {
    server.close();
  }
}

function nodeScenario(template, entry, trainFile) {
  return async (context) => {
    const { dir, warnings: npm } = await project(context, template, trainFile);
    const { result, warnings: runtime } = await nodeResult(dir, entry);
    return { result, warnings: [...npm, ...runtime] };
  };
}

/**
 * A TypeScript project: tsc type-checks train.ts and main.ts against the installed
 * declarations with `compilerOptions`, then Node runs what it emitted.
 */
function typescriptScenario(type, compilerOptions, extra = []) {
  return async (context) => {
    const { dir, warnings: npm } = await project(context, 'typescript', 'train.ts', { packageJson: { name: 'consumer-typescript', private: true, type }, extra });
    const tsconfig = { compilerOptions: { target: 'ES2022', strict: true, outDir: 'out', types: [], ...compilerOptions }, include: ['*.ts'] };
    writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
    await sh(process.execPath, [rootRequire.resolve('typescript/bin/tsc'), '-p', dir], dir);
    const { result, warnings: runtime } = await nodeResult(dir, path.join('out', 'main.js'));
    return { result, warnings: [...npm, ...runtime] };
  };
}

/**
 * A page bundled by `bundle(context, dir, outDir)` (which returns the build's warnings), served
 * from outDir. `template` browser-assets is for bundlers that emit no assets: the project
 * copies the package's .wasm and self-contained worker beside the bundle, as its README says.
 */
function bundledScenario(template, bundle) {
  return async (context) => {
    const { dir, warnings: npm } = await project(context, template, 'train.js', { packageJson: { name: `consumer-${template}`, private: true, type: 'module' } });
    const outDir = path.join(dir, 'out');
    mkdirSync(outDir, { recursive: true });
    const built = await bundle(context, dir, outDir);
    // Both templates' pages are the same: one script, main.js.
    cpSync(path.join(PROJECTS, 'browser', 'index.html'), path.join(outDir, 'index.html'));
    if (template === 'browser-assets') {
      const installed = createRequire(path.join(dir, 'package.json'));
      cpSync(installed.resolve('gradlab/gradlab.wasm'), path.join(outDir, 'gradlab.wasm'));
      cpSync(installed.resolve('gradlab/cdn/worker'), path.join(outDir, 'trainer.worker.js'));
    }
    return { result: await browserResult(context, outDir), warnings: [...npm, ...built] };
  };
}

/** Bundler warnings as lines of text. */
const lines = (list, describe) => list.map((entry) => `build: ${describe(entry)}`);

const SCENARIOS = {
  'node-esm-js': nodeScenario('node-esm-js', 'main.js', 'train.js'),
  'node-esm-mjs': nodeScenario('node-esm-mjs', 'main.mjs', 'train.mjs'),
  'node-cjs': nodeScenario('node-cjs', 'main.js', 'train.js'),
  'ts-node16-esm': typescriptScenario('module', { module: 'node16', moduleResolution: 'node16', lib: ['ES2022'], types: ['node'] }, ['@types/node']),
  'ts-node16-cjs': typescriptScenario('commonjs', { module: 'node16', moduleResolution: 'node16', lib: ['ES2022'], types: ['node'] }, ['@types/node']),
  'ts-nodenext-esm': typescriptScenario('module', { module: 'nodenext', moduleResolution: 'nodenext', lib: ['ES2022', 'DOM'] }),
  'ts-nodenext-cjs': typescriptScenario('commonjs', { module: 'nodenext', moduleResolution: 'nodenext', lib: ['ES2022', 'DOM'] }),
  'ts-bundler': typescriptScenario('module', { module: 'esnext', moduleResolution: 'bundler', lib: ['ES2022', 'DOM'] }),
  'ts-bundler-skipLibCheck': typescriptScenario('module', { module: 'esnext', moduleResolution: 'bundler', lib: ['ES2022', 'DOM'], skipLibCheck: true }),
  'ts-node16-skipLibCheck': typescriptScenario('module', { module: 'node16', moduleResolution: 'node16', lib: ['ES2022'], types: ['node'], skipLibCheck: true }, ['@types/node']),
  'ts-dom-only': typescriptScenario('module', { module: 'nodenext', moduleResolution: 'nodenext', lib: ['ES2022', 'DOM', 'DOM.Iterable'] }),
  'ts-node-only': typescriptScenario('module', { module: 'nodenext', moduleResolution: 'nodenext', lib: ['ES2022'], types: ['node'] }, ['@types/node']),
  vite: async (context) => {
    const { dir, warnings: npm } = await project(context, 'browser', 'train.js', { packageJson: { name: 'consumer-vite', private: true, type: 'module' } });
    const { build, preview, createLogger } = context.tools.vite;
    const built = [];
    const logger = createLogger('warn');
    logger.warn = (message) => built.push(`build: ${message}`);
    logger.warnOnce = logger.warn;
    await build({ root: dir, configFile: false, customLogger: logger, logLevel: 'warn' });
    const server = await preview({ root: dir, configFile: false, customLogger: logger, logLevel: 'warn', preview: { port: 0, host: '127.0.0.1' } });
    try {
      const url = server.resolvedUrls.local[0];
      return { result: await pageResult(context.browser ??= await launchChromium(), url), warnings: [...npm, ...built] };
    } finally {
      await server.close();
    }
  },
  esbuild: bundledScenario('browser-assets', async (context, dir, outDir) => {
    const result = await context.tools.esbuild.build({ entryPoints: [path.join(dir, 'main.js')], bundle: true, platform: 'browser', format: 'esm', outdir: outDir, logLevel: 'silent' });
    return lines(result.warnings, (warning) => warning.text);
  }),
  webpack: bundledScenario('browser', async (context, dir, outDir) => {
    // The one setting a project adds (README): webpack's size hint counts the .wasm, which is 558 KiB by nature.
    const performance = { assetFilter: (file) => !file.endsWith('.wasm') };
    const compiler = context.tools.webpack({ mode: 'production', context: dir, entry: './main.js', output: { path: outDir, filename: 'main.js', module: true }, experiments: { outputModule: true }, performance });
    const stats = await new Promise((resolve, reject) => compiler.run((error, result) => (error ? reject(error) : resolve(result))));
    await new Promise((resolve) => compiler.close(resolve));
    const { errors, warnings } = stats.toJson({ all: false, errors: true, warnings: true });
    if (errors.length) throw new Error(`webpack: ${errors.map((error) => error.message).join('\n')}`);
    return lines(warnings, (warning) => `${warning.moduleName ?? ''}: ${warning.message}`);
  }),
  rollup: bundledScenario('browser-assets', async (context, dir, outDir) => {
    const found = [];
    const bundle = await context.tools.rollup.rollup({ input: path.join(dir, 'main.js'), plugins: [context.tools.nodeResolve({ browser: true })], onwarn: (warning) => found.push(warning.message) });
    await bundle.write({ dir: outDir, format: 'es' });
    await bundle.close();
    return lines(found, (message) => message);
  }),
  cdn: async (context) => {
    const { dir, warnings: npm } = await project(context, 'cdn', 'train.js', { packageJson: { name: 'consumer-cdn', private: true, type: 'module' } });
    // No bundler: the page maps `gradlab` to the package's CDN build, as a CDN user would.
    return { result: await browserResult(context, dir), warnings: npm };
  },
};

/** Why `result` is not what the repository's own build computed, or undefined. */
function mismatch(result, reference) {
  const curves = { inThread: result?.inThread, worker: result?.worker };
  for (const [name, losses] of Object.entries(curves)) {
    if (!Array.isArray(losses) || losses.length !== reference.length) return `${name}: expected ${reference.length} losses, got ${JSON.stringify(losses)}`;
    if (!losses.every(Number.isFinite)) return `${name}: non-finite losses ${JSON.stringify(losses)}`;
    const at = losses.findIndex((loss, step) => loss !== reference[step]);
    if (at >= 0) return `${name}: step ${at} lost ${losses[at]}, Node computes ${reference[at]}`;
  }
  return undefined;
}

/**
 * Packs the package and prepares what the scenarios share. Call `finish()` when done.
 * @returns {Promise<{ names: string[], reference: number[], run: (name: string) => Promise<{ ok: boolean, detail: string, warnings: string[] }>, finish: () => Promise<void> }>}
 */
export async function prepareMatrix() {
  if (!existsSync(path.join(ROOT, 'dist', 'ts', 'index.js'))) throw new Error('build gradlab first (npm run build): the matrix packs dist/');
  const packDir = await mkdtemp(path.join(tmpdir(), 'gradlab-pack-'));
  // --ignore-scripts: dist/ is built already; packing must not rebuild it.
  const { stdout } = await sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', packDir], ROOT);
  const [packed] = JSON.parse(stdout);
  const context = { tarball: path.join(packDir, packed.filename), cleanup: [packDir], tools: await bundlers(), browser: undefined };
  const own = await import(pathToFileURL(path.join(ROOT, 'dist', 'ts', 'index.js')).href);
  const { train } = await import(`data:text/javascript,${encodeURIComponent(transpiled('esm'))}`);
  const reference = (await train(own)).inThread;
  return {
    names: Object.keys(SCENARIOS),
    reference,
    packed,
    async run(name) {
      const browser = ['vite', 'esbuild', 'webpack', 'rollup', 'cdn'].includes(name);
      if (browser && chromiumMissing()) return { ok: false, detail: chromiumMissing(), warnings: [] };
      try {
        const { result, warnings: found } = await SCENARIOS[name](context);
        const wrong = mismatch(result, reference);
        const detail = wrong ?? (found.length ? `${found.length} warning(s): ${found.join(' | ')}` : `losses equal Node's (${result.runtime}, simd ${result.simd})`);
        return { ok: !wrong && found.length === 0, detail, warnings: found };
      } catch (error) {
        return { ok: false, detail: String(error instanceof Error ? error.message : error).split('\n').slice(0, 6).join(' / '), warnings: [] };
      }
    },
    async finish() {
      await context.browser?.close();
      await Promise.all(context.cleanup.map((dir) => rm(dir, { recursive: true, force: true })));
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const matrix = await prepareMatrix();
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((name) => !matrix.names.includes(name));
  if (unknown.length) throw new Error(`unknown scenarios ${unknown.join(', ')}; there are ${matrix.names.join(', ')}`);
  console.log(`gradlab ${matrix.packed.version}: tarball ${(matrix.packed.size / 1024).toFixed(0)} kB, unpacked ${(matrix.packed.unpackedSize / 1024).toFixed(0)} kB, ${matrix.packed.entryCount} files; Node ${process.env.GRADLAB_NODE ?? process.version}`);
  let failed = 0;
  for (const name of wanted.length ? wanted : matrix.names) {
    const { ok, detail } = await matrix.run(name);
    if (!ok) failed++;
    console.log(`| ${name} | ${ok ? 'pass' : 'FAIL'} | ${detail} |`);
  }
  await matrix.finish();
  process.exitCode = failed ? 1 : 0;
}
