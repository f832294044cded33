// bench/pkg: keel's own packages and the examples built from them.
//
// The package folders are each build.yml under kernel/, images/ and
// services/, found when the bench runs; kernel-source/ is left out: it compiles a
// kernel for minutes, is cached by its tag like any package, and is not part
// of a warm rebuild (see `excluded` below; the output says so too).
//
// 1. With --cold: every package folder built into an empty cache folder (a
//    fresh KEEL_CACHE), so every .deb is downloaded from the archive again:
//    the time a new machine takes. Opt-in: it downloads a lot.
// 2. A warm rebuild of everything: `keel pkg build --force` of every folder
//    in one run, with every .deb already cached and the step cache
//    (decompressed data.tars, gzip'd layers: docs/packages.md) and the
//    compile cache (ccache, when the host has it) filled by an untimed build
//    first. Target: at most 10 s. The build steps always run.
//    Then the same rebuild with both caches empty (a cache folder of its
//    own whose apt/ is this one's, so the .debs are still cached): what a
//    build costs when no step has been seen before.
//    Each folder's own warm rebuild is timed too, in a run of its own (so
//    each includes starting node), with where its CPU time went: unpacking
//    the .debs, the package's files and build steps, packing the layer.
// 3. The size of each package image (its compressed layers, what a pull
//    moves) and of each examples/*.yml's initrd. Targets: examples/minimal
//    at most 3 MiB, examples/sshd at most 12 MiB.
//
// Wall times depend on what else the machine runs: the CPU times (user +
// system, children included) and the load average are printed with them.
//
//   npm run bench:pkg [-- --cold] [-- --runs 3]
import { mkdir, readdir, mkdtemp, rm, stat, symlink } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { parseArgs } from 'node:util'
import { findOnPath } from '../pkg/exec/index.js'
import type { ImageManifest } from '../pkg/oci/index.js'
import { defaultCacheDir, Store, storeDir } from '../pkg/store/index.js'
import { exec, median, repoRoot } from './measure.js'

const packageRoots = ['kernel', 'kernel-source', 'images', 'services']
/** Package folders left out of every figure, and why. */
const excluded: Record<string, string> = {
  'kernel-source': 'compiles a kernel for minutes; cached by its tag, not part of a warm rebuild',
}
const warmTarget = 10
const initrdTargets: Record<string, number> = { minimal: 3, sshd: 12 }
const MiB = 1024 * 1024
const keel = join(repoRoot, 'bin/keel.js')

/** Every folder under the package roots that holds a build.yml (test fixtures and sources skipped). */
async function findPackages(): Promise<string[]> {
  const found: string[] = []
  const walk = async (dir: string, depth: number): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => [])
    if (entries.some((e) => e.isFile() && e.name === 'build.yml')) found.push(dir)
    if (depth === 0) return
    for (const e of entries) {
      if (e.isDirectory() && !['node_modules', '.git', 'src', 'testdata', 'fixtures'].includes(e.name)) await walk(join(dir, e.name), depth - 1)
    }
  }
  for (const root of packageRoots) await walk(join(repoRoot, root), 2)
  return found.filter((dir) => excluded[rel(dir)] === undefined).sort()
}

interface Timing {
  wall: number
  cpu: number
  /** With --debug: CPU seconds by build phase (summed over the packages built). */
  phases: Record<Phase, number>
}

type Phase = 'unpack' | 'steps' | 'pack'
/** The phase each of pkg/pkgbuild's --debug timing lines ends. */
const phaseLines: Record<string, Phase> = {
  'Debian packages unpacked': 'unpack',
  'files copied and build steps run': 'steps',
  'layer packed and stored': 'pack',
}

/** Wall and CPU seconds (user + system, children included) of a command, under GNU time. */
async function timed(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Timing> {
  const { stderr } = await exec('/usr/bin/time', ['-f', 'KEEL_TIME %e %U %S', process.execPath, keel, ...args], {
    env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024,
  })
  const m = /KEEL_TIME ([0-9.]+) ([0-9.]+) ([0-9.]+)/.exec(stderr)
  if (!m) throw new Error(`no timing from keel ${args.join(' ')}: ${stderr}`)
  const phases: Record<Phase, number> = { unpack: 0, steps: 0, pack: 0 }
  for (const line of stderr.split('\n')) {
    for (const [text, phase] of Object.entries(phaseLines)) {
      const p = new RegExp(` ${text} in [0-9.]+ s, cpu ([0-9.]+) s$`).exec(line)
      if (p) phases[phase] += Number(p[1])
    }
  }
  return { wall: Number(m[1]), cpu: Number(m[2]) + Number(m[3]), phases }
}

/**
 * A cache folder of its own that shares this one's downloads (apt/): a
 * build there finds every .deb but no stored image, no step cache and no
 * compile cache.
 */
async function emptyStepCache(parent: string, name: string): Promise<string> {
  const dir = join(parent, name)
  await mkdir(dir, { recursive: true })
  await symlink(join(defaultCacheDir(process.env), 'apt'), join(dir, 'apt'))
  return dir
}

const rel = (p: string): string => relative(repoRoot, p) || '.'
const mib = (bytes: number): string => (bytes / MiB).toFixed(2)

/** `keel pkg build` of some folders; the references it printed. */
async function buildPackages(dirs: string[], env: NodeJS.ProcessEnv, extra: string[] = []): Promise<string[]> {
  const { stdout } = await exec(process.execPath, [keel, '-q', 'pkg', 'build', ...extra, ...dirs], {
    env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024,
  })
  return stdout.trim().split('\n')
}

/** The compressed size of an image's layers in the store. */
async function imageSize(store: Store, ref: string): Promise<number> {
  const d = await store.resolve(ref)
  if (!d) throw new Error(`${ref} is not in the store`)
  const m = await store.readJson<ImageManifest>(d.digest)
  return m.layers.reduce((n, l) => n + l.size, 0)
}

function errorLine(err: unknown): string {
  const e = err as { stderr?: string; message?: string }
  const text = (e.stderr ?? e.message ?? String(err)).trim().split('\n').filter((l) => /error/.test(l)).pop()
  return (text ?? String(err)).slice(0, 160)
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { cold: { type: 'boolean' }, runs: { type: 'string' } } })
  const runs = Number(values.runs ?? 1)
  const dirs = await findPackages()
  const work = await mkdtemp(join(tmpdir(), 'keel-bench-pkg-'))
  const misses: string[] = []
  const verdict = (name: string, value: number, target: number, unit: string): string => {
    const met = value <= target
    if (!met) misses.push(name)
    return `<= ${target} ${unit}: ${met ? 'met' : 'NOT met'}`
  }
  process.stdout.write(`${dirs.length} package folders: ${dirs.map(rel).join(' ')}\n`)
  for (const [dir, why] of Object.entries(excluded)) process.stdout.write(`left out: ${dir} (${why})\n`)
  // Wall times depend on what else the machine runs; the CPU time less so.
  process.stdout.write(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n\n`)
  try {
    const cold = new Map<string, number>()
    if (values.cold) {
      // A fresh cache folder: every .deb from the archive again.
      const env = { KEEL_CACHE: join(work, 'cold-cache') }
      for (const dir of dirs) {
        cold.set(dir, (await timed(['-q', 'pkg', 'build', dir], env)).wall)
      }
    }

    // Warm: fill the .deb, step and compile caches (untimed; --force so
    // that they are filled even where the images are stored already), then
    // rebuild everything in one run.
    const refs = await buildPackages(dirs, {}, ['--force'])
    const all: Timing[] = []
    for (let r = 0; r < runs; r++) all.push(await timed(['-q', 'pkg', 'build', '--force', ...dirs]))
    // The same with the step and compile caches empty: a fresh cache folder each run.
    const uncached: Timing[] = []
    for (let r = 0; r < runs; r++) {
      const env = { KEEL_CACHE: await emptyStepCache(work, `no-step-cache-${r}`) }
      uncached.push(await timed(['-q', 'pkg', 'build', '--force', ...dirs], env))
    }
    const each = new Map<string, Timing>()
    for (const dir of dirs) each.set(dir, await timed(['--debug', 'pkg', 'build', '--force', dir]))

    const store = await Store.open(storeDir(defaultCacheDir(process.env)))
    process.stdout.write(`package                   ${values.cold ? 'cold (s)  ' : ''}warm (s)  cpu (s)  = unpack + steps + pack + rest  image (MiB)\n`)
    const cpuCol = (x: number, width: number): string => x.toFixed(2).padStart(width)
    for (const [i, dir] of dirs.entries()) {
      const size = await imageSize(store, refs[i]!)
      const coldCol = values.cold ? `${cold.get(dir)!.toFixed(2).padStart(8)}  ` : ''
      const warm = each.get(dir)!
      const { unpack, steps, pack } = warm.phases
      const rest = warm.cpu - unpack - steps - pack
      process.stdout.write(`${rel(dir).padEnd(24)}  ${coldCol}${warm.wall.toFixed(2).padStart(8)}  ${cpuCol(warm.cpu, 7)}  ${cpuCol(unpack, 8)} ${cpuCol(steps, 7)} ${cpuCol(pack, 6)} ${cpuCol(rest, 6)}  ${mib(size).padStart(11)}\n`)
    }
    const sum = (f: (t: Timing) => number): number => [...each.values()].reduce((a, t) => a + f(t), 0)
    process.stdout.write(`${'sum of the above'.padEnd(24)}  ${values.cold ? ' '.repeat(10) : ''}${sum((t) => t.wall).toFixed(2).padStart(8)}  ${cpuCol(sum((t) => t.cpu), 7)}  ${cpuCol(sum((t) => t.phases.unpack), 8)} ${cpuCol(sum((t) => t.phases.steps), 7)} ${cpuCol(sum((t) => t.phases.pack), 6)}\n`)
    process.stdout.write('(each folder in a run of its own, step cache filled; "rest" is starting node, the tag, the store)\n')
    if (values.cold) {
      const total = [...cold.values()].reduce((a, b) => a + b, 0)
      process.stdout.write(`cold build of everything, one folder at a time, empty cache: ${total.toFixed(2)} s\n`)
    }
    const warm = median(all.map((a) => a.wall))
    const cpu = median(all.map((a) => a.cpu))
    const of = runs > 1 ? `, median of ${runs}` : ''
    process.stdout.write(`warm rebuild of everything (--force, one run${of}): ${warm.toFixed(2)} s wall, ${cpu.toFixed(2)} s CPU  ${verdict('warm rebuild', warm, warmTarget, 's')}\n`)
    const ccache = findOnPath('ccache')
    process.stdout.write(`compile cache: ${ccache === undefined ? 'none (no ccache on PATH: every C compile runs)' : `ccache (${ccache})`}\n`)
    process.stdout.write(`the same with the step and compile caches empty${of}: ${median(uncached.map((a) => a.wall)).toFixed(2)} s wall, ${median(uncached.map((a) => a.cpu)).toFixed(2)} s CPU\n`)
    process.stdout.write(`load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n\n`)

    // Each example's initrd.
    const examples = (await readdir(join(repoRoot, 'examples'))).filter((f) => f.endsWith('.yml')).sort()
    process.stdout.write('example                   initrd (MiB)  target\n')
    for (const file of examples) {
      const name = file.replace(/\.yml$/, '')
      const out = join(work, `ex-${name}`)
      const target = initrdTargets[name]
      let line: string
      try {
        await exec(process.execPath, [keel, '-q', 'build', '-o', out, join(repoRoot, 'examples', file)], { maxBuffer: 64 * 1024 * 1024 })
        const initrds = (await readdir(out)).filter((f) => f.endsWith('-initrd.img'))
        if (initrds.length === 0) throw new Error('no initrd written')
        const size = (await stat(join(out, initrds[0]!))).size
        line = `${mib(size).padStart(12)}  ${target === undefined ? '' : verdict(`${name} initrd`, size / MiB, target, 'MiB')}`
      } catch (err) {
        line = `build failed: ${errorLine(err)}`
        if (target !== undefined) misses.push(`${name} initrd`)
      }
      process.stdout.write(`${name.padEnd(24)}  ${line}\n`)
      await rm(out, { recursive: true, force: true })
    }
    for (const name of Object.keys(initrdTargets)) {
      if (!examples.includes(`${name}.yml`)) {
        process.stdout.write(`${name.padEnd(24)}  (no examples/${name}.yml yet)  target <= ${initrdTargets[name]} MiB: NOT met\n`)
        misses.push(`${name} initrd`)
      }
    }
    process.stdout.write(misses.length === 0 ? '\nall targets met\n' : `\ntargets NOT met: ${misses.join(', ')}\n`)
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/pkg: ${err instanceof Error ? err.stack : String(err)}\n`)
  process.exitCode = 1
})
