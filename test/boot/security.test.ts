// One boot of test/fixtures/security/security.yml, built with the real keel
// command: resource limits and confinement checked in a real kernel, where
// cgroup v2 has every controller (host-mode tests in images/init/init.test.ts
// cannot check memory.max and pids.max on a hybrid host).
//
// While "tick" counts once a second, other services:
// - hog goes over its memory limit twice (the kernel's memcg OOM killer takes
//   it alone; the supervisor restarts it), then stays within it;
// - bomb runs a fork bomb that pids.max holds, left running until shutdown;
// - filler fills a 4 MiB tmpfs and then its writable root until ENOSPC;
// - probe and probe-free print what they see of their confinement: the
//   first confined by the manifest, the second with everything off, each the
//   other's negative control;
// - ender waits for all of them in /var/log, then powers off.
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bootAndWatch, keel, repoRoot } from '../helpers/keel-cli.js'

const manifest = join(repoRoot, 'test/fixtures/security/security.yml')
const work = mkdtempSync(join(tmpdir(), 'keel-security-'))
t.teardown(() => rmSync(work, { recursive: true, force: true }))

const MiB = 1024 * 1024

// Under TCG, on a shared machine, the boot alone can take minutes: more than
// tap's default for a file. (The comment tells tap's runner too.)
const timeoutMs = 600_000
t.setTimeout(timeoutMs)
t.comment(`timeout=${timeoutMs}`)

/** Where `needle` first appears in `log` (a string or a regexp), or -1. */
function at(log: string, needle: string | RegExp): number {
  if (typeof needle === 'string') return log.indexOf(needle)
  return needle.exec(log)?.index ?? -1
}

/** The heartbeat: each "tick: tick N" line with its place in the console. */
function ticks(log: string): Array<{ n: number; at: number }> {
  return [...log.matchAll(/^tick: tick (\d+)\r?$/gm)].map((m) => ({ n: Number(m[1]), at: m.index }))
}

/** How many ticks came after position `from` (and before `to`, when given). */
function ticksBetween(log: string, from: number, to = Infinity): number {
  return ticks(log).filter((k) => k.at > from && k.at < to).length
}

/** "NAME: key=value" lines a probe service printed, as an object. */
function facts(log: string, name: string): Record<string, string> {
  const out: Record<string, string> = {}
  const prefix = `${name}: `
  for (const line of log.split(/\r?\n/)) {
    if (!line.startsWith(prefix)) continue
    const rest = line.slice(prefix.length)
    const eq = rest.indexOf('=')
    if (eq > 0 && /^[a-z]+$/.test(rest.slice(0, eq))) out[rest.slice(0, eq)] = rest.slice(eq + 1)
  }
  return out
}

/** What differs between the facts seen and those expected; empty when all match. */
function mismatches(got: Record<string, string>, want: Record<string, string>): string[] {
  return Object.entries(want)
    .filter(([k, v]) => got[k] !== v)
    .map(([k, v]) => `${k}: got ${JSON.stringify(got[k])}, want ${JSON.stringify(v)}`)
}

/** A capability set as /proc/self/status prints it. */
function capSet(...bits: number[]): string {
  return bits.reduce((m, b) => m | (1n << BigInt(b)), 0n).toString(16).padStart(16, '0')
}

/** Every capability up to the kernel's last one. */
function fullCapSet(last: number): string {
  return capSet(...Array.from({ length: last + 1 }, (_, i) => i))
}

t.test('limits and confinement hold in a real boot, and the machine stays up', async (t) => {
  const out = join(work, 'out')
  const build = await keel(['build', '-o', out, manifest])
  t.equal(build.code, 0, `keel build succeeds\n${build.stderr}`)
  if (build.code !== 0) return

  const boot = await bootAndWatch(join(out, 'security'), [
    'all services started (8 of 8)',
    /^ender: done waiting after \d+ rounds/m,
    'ender: powering off now',
    'shutdown begun (power off)',
    /\[init [\d.]+\] powering off/,
    'reboot: Power down',
  ], { timeoutMs: timeoutMs - 120_000, args: ['--mem', '512'] })
  const log = boot.console
  if (!boot.ok) t.comment(`console:\n${log}\nstderr:\n${boot.stderr}`)
  t.ok(boot.ok, `every expected line came, in order${boot.missing ? `; never saw: ${boot.missing}` : ''}`)
  t.equal(boot.timedOut, false, 'the guest powered off by itself')
  t.equal(boot.code, 0, 'keel run exits 0 after a clean power-off')
  // (busybox stat names no type for cgroup2's magic; cgroup.controllers is cgroup2's own file)
  t.match(log, /sysbind: \/sys\/fs\/cgroup is \S+, \/sys\/fs\/cgroup\/cgroup.controllers$/m, 'a service binding the host /sys starts, with cgroup2 at /sys/fs/cgroup')
  const rounds = /^ender: done waiting after (\d+) rounds/m.exec(log)
  t.ok(rounds && Number(rounds[1]) < 90, `every service reported before ender's deadline (${rounds?.[1]} rounds)`)

  const shutdown = at(log, 'shutdown begun (power off)')
  const before = shutdown >= 0 ? log.slice(0, shutdown) : log
  t.test('nothing else went down', async (t) => {
    // The probes and sysbind run once and exit 0; the hog is the only one that may die.
    const exits = [...before.matchAll(/service (\S+) exited \(([^)]*)\)/g)].map((m) => `${m[1]} (${m[2]})`)
    t.same(exits.filter((e) => !e.startsWith('hog ')).sort(), ['probe (exit 0)', 'probe-free (exit 0)', 'sysbind (exit 0)'],
      `only the hog was killed before shutdown (${exits.join(', ')})`)
    t.notMatch(log, /^\[[ \d.]+\] Out of memory: Killed process/m, 'the kernel never ran out of memory as a whole')
    t.notMatch(log, /Kernel panic|BUG:|Oops/, 'no kernel panic or oops')
    const all = ticks(before)
    t.ok(all.length >= 10, `tick kept counting until shutdown (${all.length} ticks)`)
    // (a kernel message can break a line now and then, so a number may be missing)
    t.ok(all.every((k, i) => i === 0 || k.n > all[i - 1]!.n), 'without restarting')
  })

  t.test('a service over its memory limit is OOM-killed alone and restarted', async (t) => {
    t.match(log, 'hog: hog run 1: memory.max=33554432', 'memory.max inside is the manifest\'s limit')
    // Negative control: the limit does not refuse memory below it.
    t.match(log, 'hog: hog run 1: 8 MiB fits', '8 MiB under a 32 MiB limit works')
    const kills = [...log.matchAll(/^\[[ \d.]+\] oom-kill:(.*)$/gm)].map((m) => m[1]!)
    t.equal(kills.length, 2, 'the OOM killer ran twice')
    for (const k of kills) {
      t.match(k, /constraint=CONSTRAINT_MEMCG,.*oom_memcg=\/keel\/hog,task_memcg=\/keel\/hog,task=dd,/, 'in the hog\'s cgroup, on its dd')
    }
    t.equal([...log.matchAll(/Memory cgroup out of memory: Killed process \d+ \(dd\)/g)].length, 2, 'the kernel says it killed dd')
    t.match(log, 'service hog exited (killed by signal 9); restarting in 0.1 s', 'the supervisor saw SIGKILL and restarts')
    t.match(log, /service hog restarted \(pid \d+, restart 1\)/, 'first restart')
    t.match(log, /service hog restarted \(pid \d+, restart 2\)/, 'second restart')
    t.match(log, 'hog: hog run 3: memory.max=33554432', 'the limit is set again on each start')
    t.match(log, 'hog: hog settled after 2 restarts', 'the third run stays within the limit')
    // Its writable root (a tmpfs and an overlay from runtime.json) is reused,
    // not mounted again on top at each restart.
    t.match(log, /^ender: hog mounts: 2\r?$/m, 'two host mounts for the hog after two restarts, not six')
    const firstOom = at(log, /oom-kill:/)
    t.ok(ticksBetween(log, -1, firstOom) >= 1, 'negative control: tick printed before the first OOM kill')
    t.ok(ticksBetween(log, firstOom, shutdown) >= 3, `tick went on after it (${ticksBetween(log, firstOom, shutdown)} ticks)`)
  })

  t.test('a fork bomb is held by pids.max', async (t) => {
    t.match(log, 'bomb: pids.max=50', 'pids.max inside is the manifest\'s limit')
    t.match(log, /cgroup: fork rejected by pids controller in \/keel\/bomb/, 'the kernel refused forks in the bomb\'s cgroup')
    const held = /^bomb: bomb held: pids.current=(\d+), pids.events: max (\d+)/m.exec(log)
    t.ok(held, 'the bomb reported from inside')
    t.ok(held && Number(held[1]) <= 50, `at most 50 tasks (${held?.[1]})`)
    t.ok(held && Number(held[2]) > 0, `forks were refused (${held?.[2]} times)`)
    const still = /^ender: bomb still held: pids.current=(\d+), pids.events: max (\d+)/m.exec(log)
    t.ok(still && Number(still[1]) > 0 && Number(still[1]) <= 50, `still running and held when ender looked (${still?.[1]} tasks)`)
    t.ok(still && held && Number(still[2]) >= Number(held[2]), `and still refused (${still?.[2]} times)`)
    const start = at(log, 'bomb: bomb start')
    t.ok(ticksBetween(log, -1, start) >= 1, 'negative control: tick printed before the bomb went off')
    t.ok(ticksBetween(log, at(log, 'bomb: bomb held'), shutdown) >= 2, 'tick went on while it was held')
    t.notMatch(before, 'service bomb exited', 'the bomb ran until shutdown')
    const killed = at(log, 'service bomb stopped (killed by signal 9)')
    t.ok(killed > shutdown, 'shutdown killed it')
    t.ok(killed < at(log, 'reboot: Power down'), 'and then powered off')
  })

  t.test('a service that fills its disk does not take the machine down', async (t) => {
    t.match(log, 'filler: fill small write ok', 'negative control: writing works before')
    const scratch = /^filler: fill scratch: No space left on device, (\d+) bytes/m.exec(log)
    t.ok(scratch, 'the 4 MiB tmpfs fills up with ENOSPC')
    t.ok(scratch && Number(scratch[1]) > 3 * MiB && Number(scratch[1]) <= 4 * MiB, `at its size (${scratch?.[1]} bytes)`)
    const root = /^filler: fill root: No space left on device, (\d+) MiB/m.exec(log)
    t.ok(root, 'the writable root (an overlay on a tmpfs) fills up with ENOSPC')
    t.ok(root && Number(root[1]) > 64 && Number(root[1]) <= 256, `at most half the memory (${root?.[1]} MiB)`)
    t.match(log, 'filler: fill recovered', 'freeing space makes both writable again')
    t.ok(ticksBetween(log, at(log, 'filler: fill root:'), shutdown) >= 1, 'tick went on after the disk was full')
  })

  t.test('the in-container probe: capabilities, no_new_privs, seccomp, masked and read-only paths, cgroup limits', async (t) => {
    const confined = facts(log, 'probe')
    const free = facts(log, 'probe-free')
    const caps = capSet(12, 5, 17) // CAP_NET_ADMIN, CAP_KILL, CAP_SYS_RAWIO
    const wantConfined = {
      capeff: caps, // as listed, nothing more
      capbnd: caps,
      nonewprivs: '1',
      seccomp: '2', // the default filter
      kcore: '0', // masked: /dev/null
      timerlist: '0',
      firmware: '0', // masked folder: an empty read-only tmpfs
      sysctlwrite: 'Read-only file system',
      cgroup: '/keel/probe',
      memorymax: String(64 * MiB),
      pidsmax: '42',
      cgwrite: 'Read-only file system', // it cannot lift its own limit
    }
    t.same(mismatches(confined, wantConfined), [], 'the confined probe saw what its manifest entry asks for')
    t.match(confined.sysrq ?? '', /^ro,/, '/proc/sysrq-trigger is mounted read-only')

    const last = Number(free.lastcap)
    t.ok(last >= 40, `the kernel's last capability (${free.lastcap})`)
    const wantFree = {
      capeff: fullCapSet(last),
      capbnd: fullCapSet(last),
      nonewprivs: '0',
      seccomp: '0', // dev.keel.seccomp: unconfined
      kcore: '4', // the ELF header, with CAP_SYS_RAWIO and no mask
      sysrq: '',
      sysctlwrite: 'ok',
      cgroup: '/keel/probe-free',
      memorymax: 'max',
      pidsmax: 'max',
    }
    t.same(mismatches(free, wantFree), [], 'negative control: unconfined, every one of them reads otherwise')
    t.ok(Number(free.timerlist) > 0, `negative control: /proc/timer_list has lines (${free.timerlist})`)
    t.ok(Number(free.firmware) > 0, `negative control: /sys/firmware has entries (${free.firmware})`)

    // The matcher itself can fail.
    const wrong = mismatches(confined, { ...wantConfined, seccomp: '0' })
    t.equal(wrong.length, 1, 'negative control: a wrong expectation is one mismatch')
    t.match(wrong[0], /^seccomp: /, 'and names the field')
  })
})
