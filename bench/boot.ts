// bench/boot: how fast init brings build.yml up, and how little memory it
// needs.
//
// 1. Boots build.yml (kernel+initrd) --runs times and reads init's console
//    timestamps: from "init started" to "all services started" (target: at
//    most 50 ms), with the time to each onboot container and service.
// 2. Finds the smallest guest memory (--mem, MiB) with which build.yml boots
//    and its shell answers, and the smallest with which the same kernel boots
//    a 1 MB busybox initrd that only prints a line: the floor the kernel sets.
//    Target: build.yml at most 8 MiB above that floor.
//
//   npm run bench:boot [-- --runs 3 --no-memory]
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { bootAndWatch, keel } from '../test/helpers/keel-cli.js'
import { exec, median, repoRoot } from './measure.js'

/** One line of init's console log: "[init 2.401] text". */
interface Stamp { ms: number; text: string }

function stamps(console: string): Stamp[] {
  const out: Stamp[] = []
  for (const m of console.matchAll(/\[init ([0-9]+)\.([0-9]{3})\] ([^\r\n]*)/g)) {
    out.push({ ms: Number(m[1]) * 1000 + Number(m[2]), text: m[3]! })
  }
  return out
}

/** Boots the shell image; true when its shell ran a command at this much memory. */
async function shellBoots(prefix: string, mem: number | undefined): Promise<{ ok: boolean; console: string }> {
  const r = await bootAndWatch(prefix, ['all services started', /keel-bench-42/, 'reboot: Power down'], {
    timeoutMs: 90_000,
    args: mem === undefined ? [] : ['--mem', String(mem)],
    script: [
      { when: '/ # ', send: 'echo keel-bench-$((6*7))\n' },
      { when: /keel-bench-42/, send: 'poweroff\n' },
    ],
  })
  const oom = /Out of memory|Kernel panic|oom-kill/i.test(r.console)
  return { ok: r.ok && r.code === 0 && !oom, console: r.console }
}

/** The smallest memory in [lo, hi] (MiB, step `step`) at which `boots` holds; hi is known to work. */
async function smallest(lo: number, hi: number, step: number, boots: (mem: number) => Promise<boolean>): Promise<number> {
  while (hi - lo > step) {
    const mid = Math.floor((lo + hi) / 2 / step) * step
    if (mid <= lo || mid >= hi) break
    if (await boots(mid)) hi = mid
    else lo = mid
  }
  return hi
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string' }, 'no-memory': { type: 'boolean' } } })
  const runs = Number(values.runs ?? 3)
  const work = await mkdtemp(join(tmpdir(), 'keel-bench-boot-'))
  try {
    const built = await keel(['build', '-o', work, join(repoRoot, 'build.yml')])
    if (built.code !== 0) throw new Error(`keel build build.yml failed:\n${built.stderr}`)
    const prefix = join(work, 'build')

    process.stdout.write(`build.yml: init start to all services started, ${runs} boots\n`)
    const totals: number[] = []
    for (let i = 1; i <= runs; i++) {
      const boot = await shellBoots(prefix, undefined)
      const s = stamps(boot.console)
      const start = s.find((x) => x.text.startsWith('init started'))
      const all = s.find((x) => x.text.startsWith('all services started'))
      if (!boot.ok || !start || !all) throw new Error(`boot ${i} did not reach a working shell:\n${boot.console}`)
      totals.push(all.ms - start.ms)
      if (i === 1) {
        for (const x of s) {
          if (x.ms > all.ms) break
          process.stdout.write(`  +${String(x.ms - start.ms).padStart(5)} ms  ${x.text}\n`)
        }
      }
      process.stdout.write(`run ${i}: kernel to init ${(start.ms / 1000).toFixed(3)} s, init to all services started ${all.ms - start.ms} ms\n`)
    }
    const m = median(totals)
    process.stdout.write(`median init start to all services started: ${m} ms (target at most 50 ms: ${m <= 50 ? 'met' : 'NOT met'})\n`)

    if (values['no-memory']) return
    // The floor: the same kernel with a busybox-only initrd that prints a line and powers off.
    const floorDir = join(work, 'floor')
    await mkdir(join(floorDir, 'root', 'bin'), { recursive: true })
    await exec('cp', ['/bin/busybox', join(floorDir, 'root', 'bin', 'busybox')])
    await writeFile(join(floorDir, 'root', 'init'),
      '#!/bin/busybox sh\n/bin/busybox echo keel-floor-ok\n/bin/busybox poweroff -f\n')
    await chmod(join(floorDir, 'root', 'init'), 0o755)
    const floorPrefix = join(floorDir, 'floor')
    await exec('sh', ['-c', `cd '${join(floorDir, 'root')}' && find . | cpio -o -H newc --quiet | gzip -n > '${floorPrefix}-initrd.img'`])
    await exec('cp', [`${prefix}-kernel`, `${floorPrefix}-kernel`])
    await exec('cp', [`${prefix}-cmdline`, `${floorPrefix}-cmdline`])
    const floorBoots = async (mem: number): Promise<boolean> => {
      const r = await bootAndWatch(floorPrefix, ['keel-floor-ok', 'reboot: Power down'], { timeoutMs: 60_000, args: ['--mem', String(mem)] })
      const ok = r.ok && !/Kernel panic|Out of memory/i.test(r.console)
      process.stdout.write(`  floor --mem ${mem}: ${ok ? 'boots' : 'fails'}\n`)
      return ok
    }
    const imageBoots = async (mem: number): Promise<boolean> => {
      const { ok } = await shellBoots(prefix, mem)
      process.stdout.write(`  build.yml --mem ${mem}: ${ok ? 'boots' : 'fails'}\n`)
      return ok
    }
    const floor = await smallest(16, 256, 2, floorBoots)
    const image = await smallest(Math.max(16, floor - 2), 512, 2, imageBoots)
    process.stdout.write(`smallest --mem: kernel with a busybox initrd ${floor} MiB; build.yml ${image} MiB; ` +
      `difference ${image - floor} MiB (target at most 8 MiB: ${image - floor <= 8 ? 'met' : 'NOT met'})\n`)
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exit(1)
})
