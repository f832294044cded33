// bench/build: warm build time of build.yml to each output format, with every
// image already in keel's store (one untimed build first fills it). Prints
// the median of --runs builds per format, and peak memory.
// Targets on a 2-core machine: kernel+initrd at most 1 s, an ISO at most 2 s,
// qcow2 at most 3 s.
//
//   npm run bench:build [-- --runs 3 --format iso-bios --format qcow2-bios]
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { measure, median, repoRoot } from './measure.js'

const allFormats = [
  'kernel+initrd', 'tar-kernel-initrd', 'tar', 'docker', 'iso-bios', 'iso-efi', 'iso-efi-initrd', 'raw-bios', 'raw-efi',
  'qcow2-bios', 'qcow2-efi', 'vhd', 'dynamic-vhd', 'vhdx', 'vmdk', 'gcp', 'aws', 'kernel+squashfs', 'kernel+erofs', 'kernel+iso',
]
const targets: Record<string, number> = { 'kernel+initrd': 1, 'iso-bios': 2, 'iso-efi': 2, 'qcow2-bios': 3, 'qcow2-efi': 3 }

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string' }, format: { type: 'string', multiple: true } } })
  const runs = Number(values.runs ?? 3)
  const formats = values.format ?? allFormats
  const work = await mkdtemp(join(tmpdir(), 'keel-bench-build-'))
  const keel = [join(repoRoot, 'bin/keel.js')]
  try {
    // Fill the store (package builds, pulls): not timed.
    await measure(process.execPath, [...keel, '-q', 'build', '-o', join(work, 'warm'), join(repoRoot, 'build.yml')])
    process.stdout.write(`build.yml, warm store, median of ${runs} runs\n`)
    process.stdout.write('format              wall (s)  peak RSS (MiB)  target\n')
    const misses: string[] = []
    for (const format of formats) {
      const times: number[] = []
      let rss = 0
      for (let r = 0; r < runs; r++) {
        const out = join(work, `${format}-${r}`)
        const m = await measure(process.execPath, [...keel, '-q', 'build', '-f', format, '-o', out, join(repoRoot, 'build.yml')])
        times.push(m.seconds)
        rss = Math.max(rss, m.maxRssMiB)
        await rm(out, { recursive: true, force: true })
      }
      const t = median(times)
      const target = targets[format]
      const verdict = target === undefined ? '' : `<= ${target} s: ${t <= target ? 'met' : 'NOT met'}`
      if (target !== undefined && t > target) misses.push(format)
      process.stdout.write(`${format.padEnd(18)} ${t.toFixed(2).padStart(9)}  ${rss.toFixed(1).padStart(14)}  ${verdict}\n`)
    }
    process.stdout.write(misses.length === 0 ? 'all targets met\n' : `targets NOT met: ${misses.join(', ')}\n`)
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/build: ${err instanceof Error ? err.stack : String(err)}\n`)
  process.exitCode = 1
})
