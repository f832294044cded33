// Running cases: setup, build (one at a time: builds share the package cache
// and the CPU), boot (up to `jobs` at once), check, report. Each case's files
// go to OUT/NAME/: setup.log, build.log, the image, console.log, run.log,
// check.log.
import { spawn } from 'node:child_process'
import { constants, createWriteStream, type WriteStream } from 'node:fs'
import { access, mkdir, open, readFile, rm, stat } from 'node:fs/promises'
import { isAbsolute, join } from 'node:path'
import { errorMessage, UserError } from '../errors/index.js'
import { createRealRunner } from '../exec/index.js'
import type { Logger } from '../log/index.js'
import { checkNetworkingOnHost, detectBootInput, ensureDiskFile, freePort, ovmfWithVars, writeMetadataIso, type Accel, type BootInput, type PublishedPort } from '../run/index.js'
import { bootCase, type BootOutcome } from './boot.js'
import { cleanConsoleLine } from './expect.js'
import { bootInputFor } from './formats.js'
import { caseInputFile, outputPath, portVariable, skipReason, type TestCase } from './cases.js'
import type { CaseResult } from './report.js'
import { allowedPatterns } from './scan.js'

/** What a case's build wrote: the image prefix (PREFIX-kernel, ...) and every file. */
export interface BuiltCase {
  prefix: string
  files: string[]
}

/**
 * Builds a case's manifests, then `extra` (manifests its setup script
 * wrote), into kernel+initrd, or the case's format when it has one.
 */
export type BuildCase = (c: TestCase, dir: string, log: WriteStream, extra: readonly string[]) => Promise<BuiltCase>

/** The manifest a setup script may write in the case's output folder; it is merged last. */
export const setupManifest = 'setup.yml'

export interface RunOptions {
  outDir: string
  jobs: number
  accel: Accel
  defaultTimeoutMs: number
  /** Failure pattern ids no case fails on. */
  allow: readonly string[]
  build: BuildCase
  log: Logger
  /** Keep the images of passing cases (failing cases always keep theirs). */
  keepImages?: boolean
  settleMs?: number
  checkTimeoutMs?: number
  /** Called as each case ends (in completion order), with its index in `cases`. */
  onResult?: (index: number, result: CaseResult) => void
}

const tailLength = 30

function tailOf(text: string, n = tailLength): string[] {
  const lines = text.trimEnd().split('\n').map(cleanConsoleLine)
  return lines.slice(Math.max(0, lines.length - n))
}

async function readTail(path: string): Promise<string[]> {
  try {
    return tailOf(await readFile(path, 'utf8'))
  } catch {
    return []
  }
}

/** A queue of one: builds run in turn, boots overlap them. */
function createLock(): <T>(fn: () => Promise<T>) => Promise<T> {
  let last: Promise<unknown> = Promise.resolve()
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const run = last.then(fn, fn)
    last = run.catch(() => undefined)
    return run
  }
}

/** Runs every case; results come back in the order of `cases`. */
export async function runCases(cases: readonly TestCase[], o: RunOptions): Promise<CaseResult[]> {
  const results: CaseResult[] = new Array(cases.length)
  const buildLock = createLock()
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < cases.length) {
      const index = next++
      const c = cases[index]!
      const started = Date.now()
      let result: CaseResult
      try {
        result = await runCase(c, o, buildLock)
      } catch (err) {
        result = { name: c.name, status: 'fail', kind: 'boot', reason: `could not run the case: ${errorMessage(err)}`, durationMs: 0 }
      }
      result.durationMs = Date.now() - started
      results[index] = result
      o.onResult?.(index, result)
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.jobs, cases.length)) }, worker))
  return results
}

async function runCase(c: TestCase, o: RunOptions, buildLock: ReturnType<typeof createLock>): Promise<CaseResult> {
  const base = { name: c.name, durationMs: 0 }
  const skip = skipReason(c, { accel: o.accel })
  if (skip) return { ...base, status: 'skip', reason: skip }
  const dir = join(o.outDir, c.name.replace(/^\/+/, ''))
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  const env = caseEnv(c, dir)

  // Setup.
  const extra: string[] = []
  if (c.setup) {
    const setupLog = join(dir, 'setup.log')
    const setup = await runScript(c.setup, { cwd: c.dir, env, log: setupLog, timeoutMs: o.checkTimeoutMs ?? 120_000 })
    if (setup.failed) {
      return { ...base, status: 'fail', kind: 'setup', reason: `setup script failed (${setup.how})`, details: { setup: c.setup, 'setup log': setupLog }, tail: await readTail(setupLog) }
    }
    const written = join(dir, setupManifest)
    if (await stat(written).then((s) => s.isFile(), () => false)) extra.push(written)
  }

  // Build.
  const buildLog = join(dir, 'build.log')
  let built: BuiltCase
  o.log.info(`${c.name}: building`)
  const logStream = createWriteStream(buildLog)
  try {
    built = await buildLock(() => o.build(c, dir, logStream, extra))
  } catch (err) {
    logStream.write(`error: ${errorMessage(err)}\n`)
    await new Promise<void>((r) => logStream.end(r))
    return { ...base, status: 'fail', kind: 'build', reason: `build failed: ${errorMessage(err)}`, details: { 'build log': buildLog }, tail: await readTail(buildLog) }
  }
  await new Promise<void>((r) => logStream.end(r))

  // Boot.
  const consoleLog = join(dir, 'console.log')
  const timeoutMs = c.timeoutMs ?? o.defaultTimeoutMs
  const prefix = built.prefix
  const made: string[] = []
  let boot: BootInput
  if (c.format === undefined) boot = await detectBootInput(prefix)
  else {
    const found = await bootInputFor(c.format, built.files, prefix)
    boot = found.boot
    made.push(...found.made)
  }
  await checkNetworkingOnHost(c.run.networking)
  const disks = await prepareDisks(c, dir)
  const firmware = c.run.uefi || (boot.kind !== 'kernel+initrd' && boot.uefi) ? await ovmfWithVars(join(dir, 'OVMF_VARS.fd')) : undefined
  const publish = await choosePorts(c)
  for (const p of publish) env[portVariable(p)] = String(p.hostPort)
  env['KEEL_TEST_IMAGE'] = prefix
  env['KEEL_TEST_CONSOLE'] = consoleLog
  const cdroms: string[] = []
  if (c.run.data !== undefined || c.run.dataFile !== undefined) {
    const data = c.run.dataFile !== undefined ? await readCaseInput(c, dir, '--data-file', c.run.dataFile) : Buffer.from(c.run.data!)
    const iso = join(dir, 'metadata.iso')
    await writeMetadataIso(data, iso, createRealRunner())
    cdroms.push(iso)
  }
  const runLog = join(dir, 'run.log')
  o.log.info(`${c.name}: booting (${o.accel}, timeout ${timeoutMs / 1000} s)`)
  const outcome = await bootCase({
    boot, accel: o.accel, cpus: c.run.cpus, memoryMiB: c.run.memoryMiB, disks,
    ...(firmware ? { firmware } : {}),
    networking: c.run.networking, publish, cdroms,
    fwCfg: await Promise.all(c.run.fwCfg.map(async (f) => {
      const file = caseInputFile(c.dir, dir, f.file)
      await readCaseInput(c, dir, '--fw-cfg', f.file)
      return { name: f.name, file }
    })),
    expect: c.expect, allow: allowedPatterns(c.labels, o.allow),
    timeoutMs, settleMs: o.settleMs ?? 10_000, traceMs: 2000, consoleLog,
    commands: { cwd: c.dir, env, log: runLog },
  })
  const verdict = judgeBoot(outcome, timeoutMs)
  const details: Record<string, string> = { ...verdict.details, console: consoleLog }
  if (verdict.kind === 'run') details['run log'] = runLog
  if (verdict.reason) {
    return { ...base, status: 'fail', kind: verdict.kind!, reason: verdict.reason, details, tail: await readTail(verdict.kind === 'run' ? runLog : consoleLog) }
  }

  // Check.
  if (c.check) {
    const checkLog = join(dir, 'check.log')
    const check = await runScript(c.check, { cwd: c.dir, env, log: checkLog, timeoutMs: o.checkTimeoutMs ?? 120_000 })
    if (check.failed) {
      return { ...base, status: 'fail', kind: 'check', reason: `check script failed (${check.how})`, details: { check: c.check, 'check log': checkLog, console: consoleLog }, tail: await readTail(checkLog) }
    }
  }
  if (!o.keepImages) {
    for (const suffix of ['-kernel', '-initrd.img', '-cmdline', '-sbom.spdx.json']) await rm(`${prefix}${suffix}`, { force: true })
    for (const f of [...built.files, ...made, join(dir, 'metadata.iso'), join(dir, 'OVMF_VARS.fd')]) await rm(f, { recursive: true, force: true })
    for (const d of disks) if (d.path.startsWith(dir)) await rm(d.path, { force: true })
  }
  return { ...base, status: 'pass', details: { console: consoleLog } }
}

/** Pass or fail from what the boot saw: a failure pattern first, then a missing line, then QEMU's exit. */
export function judgeBoot(b: BootOutcome, timeoutMs: number): { reason?: string; kind?: CaseResult['kind']; details: Record<string, string> } {
  if (b.hit) {
    return {
      kind: 'pattern',
      reason: `${b.hit.pattern.description} (pattern ${b.hit.pattern.id}) at console line ${b.hit.lineNumber}`,
      details: { pattern: b.hit.pattern.id, line: b.hit.line },
    }
  }
  if (b.commandFailure) {
    const f = b.commandFailure
    return {
      kind: 'run',
      reason: `run: ${f.item.text} (expect line ${f.item.line}) failed: ${f.how}`,
      details: { command: f.item.text, 'expect line': String(f.item.line) },
    }
  }
  if (!b.matched) {
    const why = b.timedOut ? `timed out after ${timeoutMs / 1000} s`
      : b.exit.signal ? `QEMU ended by ${b.exit.signal} first`
        : `the guest stopped first (QEMU exit ${b.exit.code})`
    const details: Record<string, string> = { expected: b.missing ?? '', 'expect line': String(b.missingLine ?? '') }
    if (b.qemuStderr && !b.stopped) details['qemu stderr'] = b.qemuStderr.split('\n').slice(-5).join('\n')
    return { kind: 'missing', reason: `never saw ${b.missing}; ${why}`, details }
  }
  if (!b.stopped && b.exit.code !== 0) {
    return { kind: 'exit', reason: `QEMU exited with ${b.exit.signal ?? `code ${b.exit.code}`}`, details: { 'qemu stderr': b.qemuStderr.split('\n').slice(-5).join('\n') } }
  }
  return { details: {} }
}

/** A --data-file or --fw-cfg file's bytes; one that is not there names the case's run-args. */
async function readCaseInput(c: TestCase, out: string, flag: string, path: string): Promise<Buffer> {
  try {
    return await readFile(caseInputFile(c.dir, out, path))
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT'
    throw new UserError(`${join(c.dir, 'run-args')}: ${flag} ${path}: ${missing ? `no such file${outputPath(path) === undefined ? '' : ' (the setup script did not make it)'}` : errorMessage(err)}`, { cause: err })
  }
}

/** A --disk that names a relative path is made in the case's output folder for this run. */
async function prepareDisks(c: TestCase, dir: string): Promise<Array<{ path: string; format: string }>> {
  const out: Array<{ path: string; format: string }> = []
  for (const d of c.run.disks) {
    const path = isAbsolute(d.path) ? d.path : join(dir, d.path)
    await ensureDiskFile(path, d.format, d.sizeBytes)
    out.push({ path, format: d.format })
  }
  return out
}

/** What setup, run: commands and check see: the case's names and folders (the image and ports are added before the boot). */
function caseEnv(c: TestCase, dir: string): NodeJS.ProcessEnv {
  return { ...process.env, KEEL_TEST_NAME: c.name, KEEL_TEST_CASE: c.dir, KEEL_TEST_OUT: dir }
}

/** The case's published ports, a free host port picked for each that names only the guest port. */
async function choosePorts(c: TestCase): Promise<PublishedPort[]> {
  const out: PublishedPort[] = []
  for (const p of c.run.publish) {
    out.push({ ...p, hostPort: p.hostPort ?? await freePort(p.hostAddress, p.protocol) })
  }
  return out
}

/** Runs a case's setup or check script: in the case folder, with /bin/sh unless it is executable, output to a log. */
async function runScript(
  script: string, o: { cwd: string; env: NodeJS.ProcessEnv; log: string; timeoutMs: number },
): Promise<{ failed: boolean; how: string }> {
  const executable = await access(script, constants.X_OK).then(() => true, () => false)
  const [cmd, args] = executable ? [script, []] : ['/bin/sh', [script]]
  const fh = await open(o.log, 'w')
  try {
    return await new Promise((resolve) => {
      const child = spawn(cmd, args, { cwd: o.cwd, stdio: ['ignore', fh.fd, fh.fd], env: o.env })
      const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs)
      child.on('error', (err) => { clearTimeout(timer); resolve({ failed: true, how: `could not start: ${err.message}` }) })
      child.on('exit', (code, signal) => {
        clearTimeout(timer)
        if (signal) resolve({ failed: true, how: signal === 'SIGKILL' ? `killed after ${o.timeoutMs / 1000} s` : `killed by ${signal}` })
        else resolve({ failed: code !== 0, how: `exit ${code}` })
      })
    })
  } finally {
    await fh.close()
  }
}
