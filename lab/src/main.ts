#!/usr/bin/env node
/** The lab's own executable: `node lab/dist/main.js lab …`, the same as `gradlab lab …`. */
import { run } from './cli.js';

process.exitCode = await run(process.argv.slice(2));
