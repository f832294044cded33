#!/usr/bin/env node
// The `keel` command: a thin shim over the compiled CLI in dist/.
import { main } from '../dist/cmd/keel/main.js'

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code },
  (err) => { process.stderr.write(`keel: internal error: ${err?.stack ?? err}\n`); process.exitCode = 70 },
)
