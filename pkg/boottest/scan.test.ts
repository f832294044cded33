import t from 'tap'
import { allowedPatterns, FailureScanner, failurePatternIds } from './scan.js'

// Lines as the kernel and keel's init print them.
const hits: Array<[string, string]> = [
  ['[    2.1] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)', 'panic'],
  ['[    3.2] Oops: 0002 [#1] PREEMPT SMP NOPTI', 'oops'],
  ['[    3.2] BUG: kernel NULL pointer dereference, address: 0000000000000000', 'bug'],
  ['[    4.0] WARNING: CPU: 0 PID: 1 at kernel/fork.c:123 copy_process+0x1/0x2', 'warning'],
  ['[    5.5] sh[85]: segfault at 0 ip 00007f3c1a2b3c4d sp 00007ffd1e2f3a40 error 4 in libc.so.6', 'segfault'],
  ['[    5.6] traps: app[90] general protection fault ip:401000 sp:7ffd error:0 in app[400000+1000]', 'segfault'],
  ['[init 20.762] service segv exited (killed by signal 11); restarting in 0.1 s', 'crash-signal'],
  ['[init 3.1] onboot setup FAILED (killed by signal 6)', 'crash-signal'],
  ['[    9.9] Out of memory: Killed process 123 (stress) total-vm:1000kB', 'oom'],
  ['[    9.8] stress invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0', 'oom'],
  ['[init 21.934] service crasher is crash-looping (5 quick exits in a row); retrying, at most every 30 s', 'crash-loop'],
  ['[init 3.638] onboot format FAILED (exit 1)', 'onboot-failed'],
]

t.test('each failure pattern hits its line', async (t) => {
  for (const [line, id] of hits) t.equal(new FailureScanner().scan(line)?.pattern.id, id, id)
  t.same([...new Set(hits.map((h) => h[1]))].sort(), [...failurePatternIds].sort(), 'every pattern is tested')
})

t.test('ordinary boot lines do not hit', async (t) => {
  const scanner = new FailureScanner()
  for (const line of [
    '[init 3.638] onboot hello done (exit 0)',
    '[init 4.814] service greeter stopped (killed by signal 15)',
    '[init 4.9] service sshd exited (exit 1); restarting in 0.1 s',
    '[init 4.8] shutdown: services stopped in 10 ms',
    '[    0.1] x86/mm: Checked W+X mappings: passed, no W+X pages found.',
    'greeter: no BUGs here; Oopsie',
  ]) t.equal(scanner.scan(line), undefined, line)
  t.equal(scanner.hit, undefined)
})

t.test('the first hit is kept with its line number', async (t) => {
  const scanner = new FailureScanner()
  scanner.scan('ok')
  scanner.scan(hits[1]![0])
  scanner.scan(hits[0]![0])
  t.equal(scanner.hit?.pattern.id, 'oops')
  t.equal(scanner.hit?.lineNumber, 2)
})

t.test('allowed patterns are not scanned for', async (t) => {
  const allow = allowedPatterns(['slow', 'allow-oom', 'allow-nonsense'], ['crash-loop'])
  t.same(allow.sort(), ['crash-loop', 'oom'])
  const scanner = new FailureScanner(allow)
  t.equal(scanner.scan(hits[8]![0]), undefined)
  t.equal(scanner.scan(hits[10]![0]), undefined)
  t.equal(scanner.scan(hits[0]![0])?.pattern.id, 'panic')
})
