// Finding boot-test cases and choosing which to run.
//
// A case is a folder holding `test.yml` (a manifest) or `manifest` (a list
// of manifest paths, relative to the folder, merged in order, test.yml last
// when both are there), and `expect`. Optional: `check` (a script run on the
// host after a good boot), `labels`, `timeout` (seconds), `run-args`.
// Any other folder is a group: its subfolders are searched in name order, so
// numbered names (000_build, 010_services) set the order.
import { access, readdir, readFile, stat } from 'node:fs/promises'
import { constants } from 'node:fs'
import { isAbsolute, join, relative, resolve, sep } from 'node:path'
import { errorMessage, UserError } from '../errors/index.js'
import { parseFwCfg, parseNetworking, parsePublish, type FwCfgItem, type Networking } from '../run/index.js'
import { parseExpect, type ExpectItem } from './expect.js'
import { checkFormats } from './formats.js'

export interface RunSettings {
  cpus: number
  memoryMiB: number
  uefi: boolean
  /** Extra disks: a relative path is in the case's output folder (fresh each run), created when missing. */
  disks: Array<{ path: string; format: string; sizeBytes: number }>
  /** Published ports (user networking); no hostPort: a free port is picked for each run. */
  publish: PublishSpec[]
  networking: Networking
  /** User data for the metadata CD: text, or a file (relative to the case folder). */
  data?: string
  dataFile?: string
  /** fw_cfg items; files relative to the case folder. */
  fwCfg: FwCfgItem[]
}

export interface PublishSpec {
  hostAddress: string
  hostPort?: number
  guestPort: number
  protocol: 'tcp' | 'udp'
}

/** The variable a check or run: command reads a published port from: KEEL_TEST_PORT_22, KEEL_TEST_UDP_PORT_53. */
export function portVariable(p: Pick<PublishSpec, 'guestPort' | 'protocol'>): string {
  return `KEEL_TEST_${p.protocol === 'udp' ? 'UDP_' : ''}PORT_${p.guestPort}`
}

export interface TestCase {
  /** The folder relative to the current folder, with "/" (absolute when outside it). */
  name: string
  dir: string
  /** Absolute manifest paths, in merge order. */
  manifests: string[]
  expect: ExpectItem[]
  /** The check script's path, when there is one. */
  check: string | undefined
  /** The setup script's path (run before the build), when there is one. */
  setup: string | undefined
  labels: string[]
  /** From the `timeout` file; undefined: the run's default. */
  timeoutMs: number | undefined
  runArgs: string[]
  run: RunSettings
  /** The output format to build and boot (from the `formats` file); undefined: kernel+initrd. */
  format?: string
}

export const caseFiles = {
  manifest: 'test.yml', manifestList: 'manifest', expect: 'expect', check: 'check', setup: 'setup', labels: 'labels', timeout: 'timeout',
  runArgs: 'run-args', formats: 'formats',
} as const

/** Words of a small list file: split on white space, "#" starts a comment. */
export function parseWords(text: string): string[] {
  return text.split('\n').flatMap((l) => l.replace(/#.*$/, '').trim().split(/\s+/)).filter((w) => w !== '')
}

/**
 * The words of a run-args file: as parseWords, but a word may be quoted
 * with "..." or '...' to hold spaces or "#" (no escapes inside). An
 * unclosed quote is a problem.
 */
export function parseArgWords(text: string, file: string): { words: string[]; problems: string[] } {
  const words: string[] = []
  const problems: string[] = []
  text.split('\n').forEach((line, i) => {
    let word: string | undefined
    for (let j = 0; j < line.length; j++) {
      const ch = line[j]!
      if (ch === '"' || ch === "'") {
        const end = line.indexOf(ch, j + 1)
        if (end === -1) {
          problems.push(`${file}:${i + 1}: a ${ch} quote is not closed`)
          return
        }
        word = (word ?? '') + line.slice(j + 1, end)
        j = end
      } else if (ch === '#' && word === undefined) break
      else if (/\s/.test(ch)) {
        if (word !== undefined) words.push(word)
        word = undefined
      } else word = (word ?? '') + ch
    }
    if (word !== undefined) words.push(word)
  })
  return { words, problems }
}

export function parseLabels(text: string, file: string): { labels: string[]; problems: string[] } {
  const words = parseWords(text)
  const problems = words.filter((w) => !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(w)).map((w) => `${file}: label ${JSON.stringify(w)}: use letters, digits, ".", "_" and "-"`)
  return { labels: [...new Set(words)], problems }
}

export function parseTimeout(text: string, file: string): { timeoutMs?: number; problems: string[] } {
  const s = text.replace(/#.*$/gm, '').trim()
  if (!/^[0-9]+(\.[0-9]+)?$/.test(s) || Number(s) <= 0) return { problems: [`${file}: a timeout in seconds, like 120, not ${JSON.stringify(s)}`] }
  return { timeoutMs: Math.round(Number(s) * 1000), problems: [] }
}

const sizeUnits: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }

function parseSizeWord(s: string): number | undefined {
  const m = /^([0-9]+)([KMG]?)$/i.exec(s)
  return m ? Number(m[1]) * sizeUnits[m[2]!.toUpperCase()]! : undefined
}

export const runArgsHelp = '--cpus N, --mem MiB, --uefi, --disk PATH[,format=raw|qcow2][,size=SIZE],\n  --disk-size SIZE, --publish [[IP:]HOST:]GUEST[/udp], --networking user|tap[,IF]|bridge[,BR]|none,\n  --data TEXT, --data-file FILE, --fw-cfg NAME=FILE'

/** The prefix of a run-args path in the case's output folder (a file `setup` made). */
export const outputPrefix = '$KEEL_TEST_OUT/'

/** A run-args path given as `$KEEL_TEST_OUT/NAME`: NAME; else undefined. */
export function outputPath(path: string): string | undefined {
  return path.startsWith(outputPrefix) && path.length > outputPrefix.length ? path.slice(outputPrefix.length) : undefined
}

/**
 * A --data-file or --fw-cfg file at boot: `$KEEL_TEST_OUT/NAME` in this
 * run's output folder `out`, else relative to the case folder.
 */
export function caseInputFile(caseDir: string, out: string, path: string): string {
  const inOut = outputPath(path)
  return inOut === undefined ? resolve(caseDir, path) : join(out, inOut)
}

/**
 * The `keel run qemu` options a case may set (a subset: those that shape
 * the machine). A --disk path that is relative names a file in the case's
 * output folder, created empty for each run.
 */
export function parseRunArgs(words: readonly string[], file: string): { run: RunSettings; problems: string[] } {
  const run: RunSettings = { cpus: 1, memoryMiB: 1024, uefi: false, disks: [], publish: [], networking: { mode: 'user' }, fwCfg: [] }
  const problems: string[] = []
  const diskSpecs: string[] = []
  let diskSize = 1024 ** 3
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!
    const eq = w.indexOf('=')
    const [flag, inline] = w.startsWith('--') && eq > 0 ? [w.slice(0, eq), w.slice(eq + 1)] : [w, undefined]
    const value = (): string | undefined => {
      if (inline !== undefined) return inline
      const v = words[i + 1]
      if (v === undefined) {
        problems.push(`${file}: ${flag} needs a value`)
        return undefined
      }
      i++
      return v
    }
    if (flag === '--uefi') run.uefi = true
    else if (flag === '--cpus' || flag === '--mem') {
      const v = value()
      if (v === undefined) continue
      const n = /^[0-9]+$/.test(v) ? Number(v) : NaN
      if (flag === '--cpus' && !(n >= 1)) problems.push(`${file}: --cpus must be a whole number of at least 1, not ${JSON.stringify(v)}`)
      else if (flag === '--mem' && !(n >= 64)) problems.push(`${file}: --mem must be a number of MiB of at least 64, not ${JSON.stringify(v)}`)
      else if (flag === '--cpus') run.cpus = n
      else run.memoryMiB = n
    } else if (flag === '--disk') {
      const v = value()
      if (v !== undefined) diskSpecs.push(v)
    } else if (flag === '--disk-size') {
      const v = value()
      if (v === undefined) continue
      const n = parseSizeWord(v)
      if (n === undefined || n <= 0) problems.push(`${file}: --disk-size must be a size like 512M or 2G, not ${JSON.stringify(v)}`)
      else diskSize = n
    } else if (flag === '--publish') {
      const v = value()
      if (v === undefined) continue
      const auto = /^([0-9]{1,5})(?:\/(tcp|udp))?$/.exec(v)
      try {
        if (auto) {
          const guestPort = Number(auto[1])
          if (guestPort < 1 || guestPort > 65535) throw new Error(`the guest port ${guestPort} is out of range (1 to 65535)`)
          run.publish.push({ hostAddress: '127.0.0.1', guestPort, protocol: (auto[2] ?? 'tcp') as 'tcp' | 'udp' })
        } else run.publish.push(parsePublish(v))
      } catch (err) {
        const message = errorMessage(err)
        problems.push(`${file}: ${message.startsWith('--publish') ? message : `--publish ${v}: ${message}`}`)
      }
    } else if (flag === '--networking') {
      const v = value()
      if (v === undefined) continue
      try {
        run.networking = parseNetworking(v)
      } catch (err) {
        problems.push(`${file}: ${errorMessage(err)}`)
      }
    } else if (flag === '--data' || flag === '--data-file') {
      const v = value()
      if (v === undefined) continue
      if (run.data !== undefined || run.dataFile !== undefined) problems.push(`${file}: give one --data or --data-file`)
      else if (flag === '--data') run.data = v
      else run.dataFile = v
    } else if (flag === '--fw-cfg') {
      const v = value()
      if (v === undefined) continue
      try {
        run.fwCfg.push(parseFwCfg(v))
      } catch (err) {
        problems.push(`${file}: ${errorMessage(err)}`)
      }
    } else {
      problems.push(`${file}: ${JSON.stringify(w)} is not an option a case may set; these are: ${runArgsHelp.replace(/\s+/g, ' ')}`)
    }
  }
  for (const spec of diskSpecs) {
    const [path, ...opts] = spec.split(',')
    let format = path!.endsWith('.qcow2') ? 'qcow2' : 'raw'
    let sizeBytes = diskSize
    for (const o of opts) {
      if (o.startsWith('format=') && ['raw', 'qcow2'].includes(o.slice(7))) format = o.slice(7)
      else if (o.startsWith('size=') && parseSizeWord(o.slice(5))) sizeBytes = parseSizeWord(o.slice(5))!
      else problems.push(`${file}: --disk ${spec}: ${JSON.stringify(o)} is not format=raw|qcow2 or size=SIZE`)
    }
    if (path === '') problems.push(`${file}: --disk needs a path`)
    else run.disks.push({ path: path!, format, sizeBytes })
  }
  if (run.publish.length > 0 && run.networking.mode !== 'user') problems.push(`${file}: --publish needs user networking, not --networking ${run.networking.mode}`)
  const seen = new Set<string>()
  for (const p of run.publish) {
    const key = `${p.guestPort}/${p.protocol}`
    if (seen.has(key)) problems.push(`${file}: the guest port ${key} is published twice`)
    seen.add(key)
  }
  return { run, problems }
}

async function readIfThere(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.F_OK)
    return true
  } catch {
    return false
  }
}

function caseName(dir: string, cwd: string): string {
  const rel = relative(cwd, dir)
  if (rel === '') return '.'
  if (rel.startsWith('..') || isAbsolute(rel)) return dir.split(sep).join('/')
  return rel.split(sep).join('/')
}

/**
 * Reads one case folder; problems are collected, not thrown. A folder with
 * a `formats` file gives one case for each format, named FOLDER:FORMAT.
 */
export async function readCase(dir: string, cwd: string, problems: string[]): Promise<TestCase[]> {
  const before = problems.length
  const at = (f: string): string => join(dir, f)
  const manifests: string[] = []
  const list = await readIfThere(at(caseFiles.manifestList))
  if (list !== undefined) {
    const paths = list.split('\n').map((l) => l.replace(/#.*$/, '').trim()).filter((l) => l !== '')
    for (const p of paths) {
      const abs = resolve(dir, p)
      if (await exists(abs)) manifests.push(abs)
      else problems.push(`${at(caseFiles.manifestList)}: ${p}: no such file`)
    }
    if (paths.length === 0) problems.push(`${at(caseFiles.manifestList)}: lists no manifest`)
  }
  if (await exists(at(caseFiles.manifest))) manifests.push(at(caseFiles.manifest))

  const expectText = await readIfThere(at(caseFiles.expect))
  let expect: ExpectItem[] = []
  if (expectText === undefined) problems.push(`${dir}: a case needs an ${caseFiles.expect} file (the lines its console must show)`)
  else {
    const parsed = parseExpect(expectText, at(caseFiles.expect))
    expect = parsed.items
    problems.push(...parsed.problems)
  }

  const labelsText = await readIfThere(at(caseFiles.labels))
  const labels = labelsText === undefined ? [] : (() => {
    const parsed = parseLabels(labelsText, at(caseFiles.labels))
    problems.push(...parsed.problems)
    return parsed.labels
  })()

  const timeoutText = await readIfThere(at(caseFiles.timeout))
  let timeoutMs: number | undefined
  if (timeoutText !== undefined) {
    const parsed = parseTimeout(timeoutText, at(caseFiles.timeout))
    timeoutMs = parsed.timeoutMs
    problems.push(...parsed.problems)
  }

  const runArgsText = await readIfThere(at(caseFiles.runArgs))
  const argWords = runArgsText === undefined ? { words: [], problems: [] } : parseArgWords(runArgsText, at(caseFiles.runArgs))
  problems.push(...argWords.problems)
  const runArgs = argWords.words
  const parsedRun = parseRunArgs(runArgs, at(caseFiles.runArgs))
  problems.push(...parsedRun.problems)
  // A file the setup script makes (in $KEEL_TEST_OUT) is looked for at boot.
  for (const f of [parsedRun.run.dataFile, ...parsedRun.run.fwCfg.map((i) => i.file)]) {
    if (f !== undefined && outputPath(f) === undefined && !(await exists(resolve(dir, f)))) {
      problems.push(`${at(caseFiles.runArgs)}: ${f}: no such file (paths are relative to the case folder; $KEEL_TEST_OUT/NAME is a file the setup script makes)`)
    }
  }

  const script = async (name: string): Promise<string | undefined> => {
    if (!(await exists(at(name)))) return undefined
    if (!(await stat(at(name))).isFile()) problems.push(`${at(name)}: not a file`)
    return at(name)
  }
  const check = await script(caseFiles.check)
  const setup = await script(caseFiles.setup)
  const formatsText = await readIfThere(at(caseFiles.formats))
  const formats = formatsText === undefined ? undefined : parseWords(formatsText)
  if (formats) problems.push(...checkFormats(formats, at(caseFiles.formats)))
  if (problems.length > before) return []
  const c: TestCase = { name: caseName(dir, cwd), dir, manifests, expect, check, setup, labels, timeoutMs, runArgs, run: parsedRun.run }
  return formats === undefined ? [c] : formats.map((format) => ({ ...c, name: `${c.name}:${format}`, format }))
}

async function isCaseDir(dir: string): Promise<boolean> {
  return (await exists(join(dir, caseFiles.manifest))) || (await exists(join(dir, caseFiles.manifestList)))
}

/**
 * Every case under `roots` (folders; a root may be a case itself), sorted by
 * name, each once. Throws a UserError listing every bad case at once.
 */
export async function discoverCases(roots: readonly string[], cwd: string): Promise<TestCase[]> {
  const problems: string[] = []
  const found = new Map<string, TestCase>()
  let caseDirs = 0
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (await isCaseDir(dir)) {
      caseDirs++
      for (const c of await readCase(dir, cwd, problems)) found.set(c.name, c)
      return
    }
    if (depth > 16) return
    const entries = await readdir(dir, { withFileTypes: true })
    const subdirs = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort()
    for (const name of subdirs) await walk(join(dir, name), depth + 1)
  }
  for (const root of roots) {
    const dir = resolve(cwd, root)
    let isDir: boolean
    try {
      isDir = (await stat(dir)).isDirectory()
    } catch {
      problems.push(`${root}: no such folder`)
      continue
    }
    if (!isDir) {
      problems.push(`${root}: not a folder; give folders of cases (each with ${caseFiles.manifest} or ${caseFiles.manifestList}, and ${caseFiles.expect})`)
      continue
    }
    const before = caseDirs
    await walk(dir, 0)
    if (caseDirs === before) problems.push(`${root}: no cases (folders with ${caseFiles.manifest} or ${caseFiles.manifestList}) under it`)
  }
  if (problems.length > 0) {
    throw new UserError(`bad test cases:\n  ${problems.join('\n  ')}`, { hint: 'docs/testing.md describes a case folder' })
  }
  return [...found.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

export interface Shard {
  /** 1-based. */
  index: number
  count: number
}

/** "2/4" → { index: 2, count: 4 }; undefined when it is not I/N with 1 ≤ I ≤ N. */
export function parseShard(text: string): Shard | undefined {
  const m = /^([0-9]+)\/([0-9]+)$/.exec(text.trim())
  if (!m) return undefined
  const index = Number(m[1])
  const count = Number(m[2])
  return index >= 1 && count >= 1 && index <= count ? { index, count } : undefined
}

export interface Selection {
  /** Run only cases with at least one of these labels (empty: all). */
  labels?: readonly string[]
  /** Leave out cases with any of these labels. */
  excludeLabels?: readonly string[]
  shard?: Shard
}

/**
 * The cases to run: label selection first, then the shard, which takes every
 * N-th case of the selection sorted by name, starting at the I-th. The same
 * case list always splits the same way, whatever the machine.
 */
export function selectCases(cases: readonly TestCase[], s: Selection): TestCase[] {
  const want = s.labels ?? []
  const drop = s.excludeLabels ?? []
  const picked = [...cases]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .filter((c) => (want.length === 0 || c.labels.some((l) => want.includes(l))) && !c.labels.some((l) => drop.includes(l)))
  if (!s.shard) return picked
  const { index, count } = s.shard
  return picked.filter((_, i) => i % count === index - 1)
}

/** Why a selected case is not run: the `skip` label, or `needs-kvm` under TCG. */
export function skipReason(c: TestCase, env: { accel: 'kvm' | 'tcg' }): string | undefined {
  if (c.labels.includes('skip')) return 'labelled skip'
  if (c.labels.includes('needs-kvm') && env.accel !== 'kvm') return 'labelled needs-kvm; KVM is not usable here'
  return undefined
}
