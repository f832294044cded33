// bench/pkg: keel's own packages and the examples built from them.
//
// 1. With --cold: every package folder (each build.yml under kernel/, images/
//    and services/, found when the bench runs) built into an empty cache
//    folder (a fresh KEEL_CACHE), so every .deb is downloaded from the
//    archive again: the time a new machine takes. Opt-in: it downloads a lot.
// 2. A warm rebuild of everything: `keel pkg build --force` of every folder
//    in one run, with every .deb already cached (an untimed build first
//    fills the cache). Target: at most 10 s. Each folder's own warm rebuild
//    is timed too, in a run of its own (so each includes starting node).
// 3. The size of each package image (its compressed layers, what a pull
//    moves) and of each examples/*.yml's initrd. Targets: examples/minimal
//    at most 3 MiB, examples/sshd at most 12 MiB.
//
//   npm run bench:pkg [-- --cold] [-- --runs 3]
import { readdir, mkdtemp, rm, stat } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { parseArgs } from 'node:util'
import type { ImageManifest } from '../pkg/oci/index.js'
import { defaultCacheDir, Store, storeDir } from '../pkg/store/index.js'
import { exec, median, repoRoot } from './measure.js'

const packageRoots = ['kernel', 'images', 'services']
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
  return found.sort()
}

/** Wall and CPU seconds (user + system, children included) of a command, under GNU time. */
async function timed(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ wall: number; cpu: number }> {
  const { stderr } = await exec('/usr/bin/time', ['-f', 'KEEL_TIME %e %U %S', process.execPath, keel, ...args], {
    env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024,
  })
  const m = /KEEL_TIME ([0-9.]+) ([0-9.]+) ([0-9.]+)/.exec(stderr)
  if (!m) throw new Error(`no timing from keel ${args.join(' ')}: ${stderr}`)
  return { wall: Number(m[1]), cpu: Number(m[2]) + Number(m[3]) }
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

    // Warm: fill the cache (untimed), then rebuild everything in one run.
    const refs = await buildPackages(dirs, {})
    const all: Array<{ wall: number; cpu: number }> = []
    for (let r = 0; r < runs; r++) all.push(await timed(['-q', 'pkg', 'build', '--force', ...dirs]))
    const each = new Map<string, { wall: number; cpu: number }>()
    for (const dir of dirs) each.set(dir, await timed(['-q', 'pkg', 'build', '--force', dir]))

    const store = await Store.open(storeDir(defaultCacheDir(process.env)))
    process.stdout.write(`package                   ${values.cold ? 'cold (s)  ' : ''}warm (s)  cpu (s)  image (MiB)\n`)
    for (const [i, dir] of dirs.entries()) {
      const size = await imageSize(store, refs[i]!)
      const coldCol = values.cold ? `${cold.get(dir)!.toFixed(2).padStart(8)}  ` : ''
      const warm = each.get(dir)!
      process.stdout.write(`${rel(dir).padEnd(24)}  ${coldCol}${warm.wall.toFixed(2).padStart(8)}  ${warm.cpu.toFixed(2).padStart(7)}  ${mib(size).padStart(11)}\n`)
    }
    if (values.cold) {
      const total = [...cold.values()].reduce((a, b) => a + b, 0)
      process.stdout.write(`cold build of everything, one folder at a time, empty cache: ${total.toFixed(2)} s\n`)
    }
    const warm = median(all.map((a) => a.wall))
    const cpu = median(all.map((a) => a.cpu))
    process.stdout.write(`warm rebuild of everything (--force, one run${runs > 1 ? `, median of ${runs}` : ''}): ${warm.toFixed(2)} s wall, ${cpu.toFixed(2)} s CPU  ${verdict('warm rebuild', warm, warmTarget, 's')}\n\n`)

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
