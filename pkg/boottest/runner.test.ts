import t from 'tap'
import { judgeBoot } from './runner.js'
import type { BootOutcome } from './boot.js'
import { FailureScanner } from './scan.js'

const base: BootOutcome = {
  matched: true, missing: undefined, missingLine: undefined, hit: undefined, commandFailure: undefined, timedOut: false, stopped: false,
  exit: { code: 0, signal: null }, boots: 1, lines: 10, qemuStderr: '', argv: [],
}

t.test('a boot that saw every line and powered off passes, even when stopped after the settle time', async (t) => {
  t.same(judgeBoot(base, 1000), { details: {} })
  t.same(judgeBoot({ ...base, stopped: true, exit: { code: null, signal: 'SIGTERM' } }, 1000), { details: {} })
})

t.test('a failure pattern wins over everything else', async (t) => {
  const hit = new FailureScanner().scan('[  1.0] Kernel panic - not syncing: attempted to kill init!')
  const v = judgeBoot({ ...base, matched: false, missing: '"x"', hit }, 1000)
  t.equal(v.kind, 'pattern')
  t.equal(v.reason, 'kernel panic (pattern panic) at console line 1')
  t.equal(v.details['line'], '[  1.0] Kernel panic - not syncing: attempted to kill init!')
})

t.test('a missing line says which, and why the wait ended', async (t) => {
  const missing = { ...base, matched: false, missing: '"ready"', missingLine: 3 }
  t.equal(judgeBoot({ ...missing, timedOut: true, stopped: true }, 90_000).reason, 'never saw "ready"; timed out after 90 s')
  const early = judgeBoot({ ...missing, exit: { code: 1, signal: null }, qemuStderr: 'qemu: could not load kernel' }, 1000)
  t.equal(early.reason, 'never saw "ready"; the guest stopped first (QEMU exit 1)')
  t.same(early.details, { expected: '"ready"', 'expect line': '3', 'qemu stderr': 'qemu: could not load kernel' })
})

t.test('QEMU failing on its own after every line fails the case', async (t) => {
  t.equal(judgeBoot({ ...base, exit: { code: 1, signal: null } }, 1000).kind, 'exit')
})

t.test('a failed run: command is the reason, ahead of the lines it kept from coming', async (t) => {
  const v = judgeBoot({ ...base, matched: false, missing: '"Power down"', stopped: true, commandFailure: { item: { text: 'curl -f http://x/', line: 4 }, how: 'exit 22' } }, 1000)
  t.equal(v.kind, 'run')
  t.equal(v.reason, 'run: curl -f http://x/ (expect line 4) failed: exit 22')
})
