#!/usr/bin/env node
// The `keel` command: a thin shim over the compiled CLI in dist/.
import { main } from '../dist/cmd/keel/main.js'

// Node exits, with status 0, when nothing is left to wait for, even if the
// command's promise never settled (a stream that never ends, say): that must
// not look like success.
let settled = false
process.on('exit', (code) => {
  if (settled || code !== 0) return
  process.stderr.write('keel: internal error: stopped before the command finished (nothing left to wait for)\n')
  process.exitCode = 70
})

main(process.argv.slice(2)).then(
  (code) => { settled = true; process.exitCode = code },
  (err) => { settled = true; process.stderr.write(`keel: internal error: ${err?.stack ?? err}\n`); process.exitCode = 70 },
)
