// keel test [options] DIR...
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises'
import { availableParallelism, hostname, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import {
  discoverCases, failurePatternIds, parseShard, renderJunit, renderTapHeader, renderTapResult, renderTapSummary,
  runCases, selectCases, runArgsHelp, type BuildCase, type CaseResult,
} from '../../pkg/boottest/index.js'
import { requireTools } from '../../pkg/exec/index.js'
import { createLogger } from '../../pkg/log/index.js'
import { chooseAccel } from '../../pkg/run/index.js'
import { defaultCacheDir } from '../../pkg/store/index.js'
import { parseCommandArgs, parseIntOption } from './args.js'
import { buildCommand } from './build.js'
import { UsageError, type CliIO } from './io.js'

export const testUsage = `usage: keel test [options] DIR...

Builds and boots boot-test cases under QEMU and reports TAP (or JUnit XML).
A case is a folder with test.yml or manifest (a list of manifests), and
expect: the lines its console must show, in order, and what to do between
them (send:, run:, powerdown:, kill:, boot:). Optional: setup (a host script
run before the build), check (a host script run after the boot), labels,
timeout (seconds) and run-args:
  ${runArgsHelp}
Folders without a manifest are searched for cases, in name order.
A case fails when an expected line never comes, or the console shows one
of the failure patterns (--allow turns them off):
  ${failurePatternIds.join(', ')}
See docs/testing.md.

options:
  -j, --jobs N              cases booting at once (default: the CPU count, ${availableParallelism()})
      --shard I/N           run the I-th of N shares of the selected cases (every N-th by name)
  -l, --labels L[,L]        run only cases with at least one of these labels
      --exclude-labels L[,L]  leave out cases with any of these labels
      --allow ID[,ID]       do not fail any case on these failure patterns
      --format tap|junit    what stdout gets (default: tap)
      --junit FILE          also write JUnit XML to FILE
  -o, --out DIR             build outputs and console logs (default: a new temporary folder)
      --timeout SECONDS     boot deadline of cases without a timeout file (default: 120)
      --accel auto|kvm|tcg  accelerator (default auto: KVM when a probe shows it works, else TCG)
      --keep-images         keep the images of passing cases too (failing ones always keep theirs)
      --list                print the selected case names and stop
      --mirror URL          Debian archive for package builds (default: the host's apt sources)
      --suite SUITE         Debian suite with --mirror (default: the host's release)

exit: 0 every case passed or was skipped, 1 a case failed, 2 usage.
`

function splitList(values: string[] | undefined): string[] {
  return (values ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '')
}

export async function testCommand(io: CliIO, args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    jobs: { type: 'string', short: 'j' },
    shard: { type: 'string' },
    labels: { type: 'string', short: 'l', multiple: true },
    'exclude-labels': { type: 'string', multiple: true },
    allow: { type: 'string', multiple: true },
    format: { type: 'string' },
    junit: { type: 'string' },
    out: { type: 'string', short: 'o' },
    timeout: { type: 'string' },
    accel: { type: 'string' },
    'keep-images': { type: 'boolean' },
    list: { type: 'boolean' },
    mirror: { type: 'string' },
    suite: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  }, testUsage)
  if (values.help) {
    io.stdout.write(testUsage)
    return 0
  }
  if (positionals.length === 0) throw new UsageError('give one or more folders of cases', testUsage)
  const jobs = parseIntOption(values.jobs, 'jobs', testUsage, availableParallelism())
  if (jobs < 1) throw new UsageError('--jobs must be at least 1', testUsage)
  const shard = values.shard === undefined ? undefined : parseShard(values.shard)
  if (values.shard !== undefined && !shard) throw new UsageError(`--shard must be I/N with 1 ≤ I ≤ N, like 2/4, not ${JSON.stringify(values.shard)}`, testUsage)
  const format = values.format ?? 'tap'
  if (format !== 'tap' && format !== 'junit') throw new UsageError(`--format must be tap or junit, not ${JSON.stringify(format)}`, testUsage)
  const allow = splitList(values.allow)
  for (const id of allow) {
    if (!failurePatternIds.includes(id)) throw new UsageError(`--allow ${id}: not a failure pattern; these are: ${failurePatternIds.join(', ')}`, testUsage)
  }
  const timeoutSeconds = parseIntOption(values.timeout, 'timeout', testUsage, 120)
  if (timeoutSeconds < 1) throw new UsageError('--timeout must be at least 1', testUsage)
  const accelMode = values.accel ?? 'auto'
  if (accelMode !== 'auto' && accelMode !== 'kvm' && accelMode !== 'tcg') throw new UsageError('--accel must be auto, kvm or tcg', testUsage)

  // Every bad case is reported before anything is built.
  const all = await discoverCases(positionals, io.cwd)
  const cases = selectCases(all, {
    labels: splitList(values.labels), excludeLabels: splitList(values['exclude-labels']), ...(shard ? { shard } : {}),
  })
  if (values.list) {
    for (const c of cases) io.stdout.write(`${c.name}\n`)
    return 0
  }

  requireTools([{ command: 'qemu-system-x86_64', debianPackage: 'qemu-system-x86' }])
  const { accel, reason } = await chooseAccel(accelMode, { cacheDir: defaultCacheDir(io.env) })
  const outDir = values.out === undefined ? await mkdtemp(join(tmpdir(), 'keel-test-')) : resolve(io.cwd, values.out)
  await mkdir(outDir, { recursive: true })
  io.log.info(`${cases.length} of ${all.length} case(s) selected${shard ? ` (shard ${shard.index}/${shard.count})` : ''}; booting with ${accel} (${reason}), ${Math.min(jobs, Math.max(1, cases.length))} at a time`)
  io.log.info(`builds and console logs in ${outDir}`)

  // TAP streams in case order: each result as soon as those before it are in.
  const tap = format === 'tap'
  if (tap) io.stdout.write(renderTapHeader(cases.length))
  const done: Array<CaseResult | undefined> = new Array(cases.length)
  let printed = 0
  const startedAt = new Date()
  const results = await runCases(cases, {
    outDir, jobs, accel, defaultTimeoutMs: timeoutSeconds * 1000, allow, log: io.log,
    keepImages: values['keep-images'] === true,
    build: buildWith(io, { mirror: values.mirror, suite: values.suite }),
    onResult: (index, r) => {
      done[index] = r
      const secs = (r.durationMs / 1000).toFixed(1)
      if (r.status === 'fail') io.log.error(`${r.name}: FAILED in ${secs} s: ${r.reason ?? ''}`)
      else io.log.info(`${r.name}: ${r.status === 'pass' ? `passed in ${secs} s` : `skipped: ${r.reason ?? ''}`}`)
      while (tap && printed < cases.length && done[printed]) {
        io.stdout.write(renderTapResult(printed + 1, done[printed]!))
        printed++
      }
    },
  })
  const durationMs = Date.now() - startedAt.getTime()
  if (tap) io.stdout.write(renderTapSummary(results, durationMs))
  const junitOptions = { suite: 'keel test', timestamp: startedAt.toISOString().replace(/\.\d+Z$/, 'Z'), durationMs, hostname: hostname() }
  if (format === 'junit') io.stdout.write(renderJunit(results, junitOptions))
  if (values.junit !== undefined) {
    const file = resolve(io.cwd, values.junit)
    await mkdir(dirname(file), { recursive: true })
    await writeFile(file, renderJunit(results, junitOptions))
  }
  const failed = results.filter((r) => r.status === 'fail')
  const skipped = results.filter((r) => r.status === 'skip').length
  io.log.info(`${results.length - failed.length - skipped} passed, ${failed.length} failed, ${skipped} skipped in ${(durationMs / 1000).toFixed(1)} s; logs in ${outDir}`)
  return failed.length > 0 ? 1 : 0
}

/** Builds a case with `keel build` itself, its messages going to the case's build log. */
function buildWith(io: CliIO, opts: { mirror?: string | undefined; suite?: string | undefined }): BuildCase {
  return async (c, dir, log, extra) => {
    const sink = { write: (s: string) => log.write(s) }
    const buildIo: CliIO = {
      stdout: sink, stderr: sink, env: io.env, cwd: c.dir, log: createLogger('info', sink),
      readStdin: async () => '',
    }
    const files: string[] = []
    let pending = ''
    const out = {
      write: (s: string) => {
        log.write(s)
        pending += s
        const lines = pending.split('\n')
        pending = lines.pop() ?? ''
        files.push(...lines.filter((l) => l !== ''))
      },
    }
    const args = [
      '-o', dir, '--name', 'image', ...(c.format === undefined ? [] : ['-f', c.format]),
      ...(opts.mirror ? ['--mirror', opts.mirror] : []), ...(opts.suite ? ['--suite', opts.suite] : []), ...c.manifests, ...extra,
    ]
    log.write(`keel build ${args.join(' ')}\n`)
    const code = await buildCommand({ ...buildIo, stdout: out }, args)
    if (code !== 0) throw new Error(`keel build exited ${code}`)
    return { prefix: join(dir, 'image'), files: files.map((f) => resolve(c.dir, f)) }
  }
}
