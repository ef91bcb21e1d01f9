#!/usr/bin/env node
// The executable: everything lives in dist/cli; this file only exits with the code it returns.
import { main } from '../dist/cli/main.js';

const code = await main(process.argv, {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  cwd: process.cwd(),
});
process.exit(code);
