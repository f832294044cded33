// bench/pull: pulls a multi-layer image of about 200 MB from a local
// docker-registry with `keel cache pull`, and the same image with
// `skopeo copy` in the same run; prints wall time and peak memory (max RSS)
// of each. Target: keel no slower than skopeo, and under 150 MB of memory.
//
//   npm run bench:pull [-- --size-mb 200 --layers 4 --runs 2]
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { launchRegistry } from '../test/helpers/registry.js'
import { exec, measure, repoRoot, type Measured } from './measure.js'

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'size-mb': { type: 'string' }, layers: { type: 'string' }, runs: { type: 'string' } } })
  const sizeMb = Number(values['size-mb'] ?? 200)
  const layerCount = Number(values.layers ?? 4)
  const runs = Number(values.runs ?? 2)
  const work = await mkdtemp(join(tmpdir(), 'keel-bench-pull-'))
  const registry = await launchRegistry()
  try {
    // An image of incompressible layers, built with umoci and pushed with skopeo.
    const layout = join(work, 'layout')
    await exec('umoci', ['init', '--layout', layout])
    await exec('umoci', ['new', '--image', `${layout}:bench`])
    const perLayer = Math.ceil(sizeMb / layerCount)
    for (let i = 0; i < layerCount; i++) {
      const file = join(work, `blob${i}`)
      await exec('sh', ['-c', `head -c ${perLayer * 1024 * 1024} /dev/urandom > '${file}'`])
      await exec('umoci', ['insert', '--rootless', '--image', `${layout}:bench`, file, `/data/blob${i}`])
      await rm(file)
    }
    const ref = `${registry.host}/bench/pull:1`
    await exec('skopeo', ['copy', '--dest-tls-verify=false', `oci:${layout}:bench`, `docker://${ref}`])
    process.stdout.write(`image: ${ref}, ${layerCount} layers, about ${perLayer * layerCount} MiB (random data)\n`)
    process.stdout.write('run  tool   wall (s)  peak RSS (MiB)\n')
    const results: Record<'keel' | 'skopeo', Measured[]> = { keel: [], skopeo: [] }
    for (let r = 1; r <= runs; r++) {
      const cache = join(work, `cache${r}`)
      const keel = await measure(process.execPath, [join(repoRoot, 'bin/keel.js'), '-q', 'cache', 'pull', ref], { KEEL_CACHE: cache })
      const skopeo = await measure('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${ref}`, `oci:${join(work, `skopeo${r}`)}:x`])
      results.keel.push(keel)
      results.skopeo.push(skopeo)
      process.stdout.write(`${r}    keel   ${keel.seconds.toFixed(2).padStart(8)}  ${keel.maxRssMiB.toFixed(1).padStart(14)}\n`)
      process.stdout.write(`${r}    skopeo ${skopeo.seconds.toFixed(2).padStart(8)}  ${skopeo.maxRssMiB.toFixed(1).padStart(14)}\n`)
      await rm(cache, { recursive: true, force: true })
      await rm(join(work, `skopeo${r}`), { recursive: true, force: true })
    }
    const best = (xs: Measured[]): Measured => xs.reduce((a, b) => (b.seconds < a.seconds ? b : a))
    const k = best(results.keel)
    const s = best(results.skopeo)
    const peak = Math.max(...results.keel.map((x) => x.maxRssMiB))
    process.stdout.write(`best: keel ${k.seconds.toFixed(2)} s, skopeo ${s.seconds.toFixed(2)} s (keel/skopeo ${(k.seconds / s.seconds).toFixed(2)}); keel peak RSS ${peak.toFixed(1)} MiB\n`)
    process.stdout.write(`targets: no slower than skopeo: ${k.seconds <= s.seconds * 1.05 ? 'met' : 'NOT met'}; under 150 MiB: ${peak < 150 ? 'met' : 'NOT met'}\n`)
  } finally {
    await registry.stop()
    await rm(work, { recursive: true, force: true })
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/pull: ${err instanceof Error ? err.stack : String(err)}\n`)
  process.exitCode = 1
})
