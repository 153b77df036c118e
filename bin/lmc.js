#!/usr/bin/env node
// Thin launcher: the CLI lives in lib/cli (compiled to dist/ by `npm run build`).
'use strict';
let cli;
try {
  cli = require('../dist/lib/cli/main.js');
} catch (err) {
  if (err && err.code === 'MODULE_NOT_FOUND') {
    console.error('lmc: the library is not built. Run `npm run build` in ' + require('path').resolve(__dirname, '..') + ' first.');
    process.exit(2);
  }
  throw err;
}
cli.main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
