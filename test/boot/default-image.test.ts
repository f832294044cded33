// Killing `keel run` outright must take QEMU with it. build.yml's guest runs
// until told to stop (a root shell on the console), so a QEMU left behind
// would run forever. (Driving that shell is the boot-test case
// test/cases/010_default, run by test/boot/cases.test.ts.)
import t from 'tap'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bootAndWatch, keel } from '../helpers/keel-cli.js'

const out = mkdtempSync(join(tmpdir(), 'keel-default-'))

t.test('killing keel run kills QEMU too (this guest would run forever)', async (t) => {
  const build = await keel(['build', '-o', out, 'build.yml'])
  t.equal(build.code, 0, `keel build succeeds\n${build.stderr}`)
  let keelPid = 0
  const qemuPids: number[] = []
  const { execFileSync } = await import('node:child_process')
  const children = (pid: number): number[] => {
    try {
      return execFileSync('pgrep', ['-P', String(pid)]).toString().trim().split('\n').map(Number)
    } catch {
      return []
    }
  }
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0)
      return true
    } catch {
      return false
    }
  }
  const boot = await bootAndWatch(join(out, 'build'), ['[init'], {
    timeoutMs: 120_000,
    onStart: (child) => {
      keelPid = child.pid ?? 0
      child.stdout!.on('data', (d: Buffer) => {
        if (qemuPids.length > 0 || !d.toString().includes('[init')) return
        qemuPids.push(...children(keelPid))
        // keel gets no chance to clean up: only the kernel's parent-death signal can stop QEMU now.
        process.kill(keelPid, 'SIGKILL')
      })
    },
  })
  t.ok(boot.ok, 'the guest was running when keel was killed')
  t.ok(qemuPids.length > 0, `found QEMU (${qemuPids.join(',')}) under keel`)
  const deadline = Date.now() + 5000
  while (qemuPids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  t.notOk(qemuPids.some(alive), 'QEMU is gone')
})
