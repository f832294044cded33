// Manifest text → typed Manifest, or every problem at once as
// file:line:col: path: message. This is the first cut: the top-level shape and
// each entry's name and image are checked; the full LinuxKit schema follows.
import { readFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { UserError } from '../errors/index.js'
import type { FileEntry, ImageEntry, Manifest, Origin, Section, VolumeEntry } from './types.js'
import { loadYaml, suggest, throwProblems, type Problem, type YamlPath } from './yaml.js'

const topKeys = ['kernel', 'init', 'onboot', 'onshutdown', 'services', 'files', 'volumes', 'trust'] as const
const kernelKeys = ['image', 'cmdline', 'binary', 'tar', 'ucode'] as const
export const sections: readonly Section[] = ['onboot', 'onshutdown', 'services']
const entryNamePattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/

/** The prefix naming a package folder instead of an image reference. */
export const pkgPrefix = '@pkg:'

export async function readManifestFile(file: string, stdin?: () => Promise<string>): Promise<Manifest> {
  if (file === '-') {
    if (!stdin) throw new UserError('reading a manifest from stdin is not possible here')
    return parseManifest(await stdin(), '<stdin>', process.cwd())
  }
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new UserError(`${file}: no such file`)
    if (code === 'EISDIR') throw new UserError(`${file}: is a folder, not a manifest`)
    throw err
  }
  return parseManifest(text, file, dirname(resolve(file)))
}

/**
 * Parses one manifest. `dir` is the folder `@pkg:` paths are relative to; they
 * are made absolute here so that merged manifests from different folders work.
 */
export function parseManifest(text: string, file: string, dir: string): Manifest {
  const src = loadYaml(text, file)
  const problems: Problem[] = []
  const bad = (path: YamlPath, msg: string, atKey = false): void => { problems.push(src.problem(path, msg, atKey)) }
  const origin = (path: YamlPath): Origin => {
    const p = src.problem(path, '')
    return { file: p.file, line: p.line, col: p.col, path: p.path }
  }
  const manifest: Manifest = { kernel: undefined, init: [], onboot: [], onshutdown: [], services: [], files: [], volumes: [], origins: new Map() }
  const raw = src.data
  if (raw === null || raw === undefined) {
    bad([], 'the manifest is empty')
    throwProblems(problems)
  }
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    bad([], 'a manifest must be a mapping (kernel, init, onboot, services, ...)')
    throwProblems(problems)
  }
  const top = raw as Record<string, unknown>
  unknownKeys(top, [], topKeys, bad)

  const imageString = (path: YamlPath, v: unknown): string | undefined => {
    if (typeof v !== 'string' || v.trim() === '') {
      bad(path, 'must be an image reference (or @pkg:PATH)')
      return undefined
    }
    if (v.startsWith(pkgPrefix)) {
      const rel = v.slice(pkgPrefix.length)
      if (rel === '') { bad(path, '@pkg: needs a path to a package folder'); return undefined }
      return `${pkgPrefix}${resolve(dir, rel)}`
    }
    return v
  }

  if (top['kernel'] !== undefined && top['kernel'] !== null) {
    const k = top['kernel']
    if (typeof k !== 'object' || Array.isArray(k)) bad(['kernel'], 'must be a mapping with image and cmdline')
    else {
      const kernel = k as Record<string, unknown>
      unknownKeys(kernel, ['kernel'], kernelKeys, bad)
      // A kernel section may leave out the image: a later file can supply it.
      const image = kernel['image'] === undefined ? '' : imageString(['kernel', 'image'], kernel['image'])
      const cmdline = kernel['cmdline'] ?? ''
      if (typeof cmdline !== 'string') bad(['kernel', 'cmdline'], 'must be a string')
      for (const f of ['binary', 'tar', 'ucode'] as const) {
        if (kernel[f] !== undefined && typeof kernel[f] !== 'string') bad(['kernel', f], 'must be a string')
      }
      if (image !== undefined) {
        manifest.kernel = {
          image,
          cmdline: typeof cmdline === 'string' ? cmdline : '',
          ...(typeof kernel['binary'] === 'string' ? { binary: kernel['binary'] } : {}),
          ...(typeof kernel['tar'] === 'string' ? { tar: kernel['tar'] } : {}),
          ...(typeof kernel['ucode'] === 'string' ? { ucode: kernel['ucode'] } : {}),
        }
        if (image !== '') manifest.origins.set('kernel', origin(['kernel', 'image']))
      }
    }
  }

  const init = top['init']
  if (init !== undefined && init !== null) {
    if (!Array.isArray(init)) bad(['init'], 'must be a list of image references')
    else init.forEach((v, i) => {
      const image = imageString(['init', i], v)
      if (image !== undefined) {
        manifest.origins.set(`init[${manifest.init.length}]`, origin(['init', i]))
        manifest.init.push(image)
      }
    })
  }

  for (const section of sections) {
    const list = top[section]
    if (list === undefined || list === null) continue
    if (!Array.isArray(list)) { bad([section], 'must be a list of entries with name and image'); continue }
    const seen = new Set<string>()
    list.forEach((e: unknown, i) => {
      if (e === null || typeof e !== 'object' || Array.isArray(e)) { bad([section, i], 'must be a mapping with name and image'); return }
      const entry = e as Record<string, unknown>
      const name = entry['name']
      if (typeof name !== 'string' || !entryNamePattern.test(name)) {
        bad([section, i, ...(name === undefined ? [] : ['name'])], name === undefined ? 'missing required field "name"' : 'name must be letters, digits, "_", "." or "-"')
      }
      const image = entry['image'] === undefined ? (bad([section, i], 'missing required field "image"'), undefined) : imageString([section, i, 'image'], entry['image'])
      if (typeof name === 'string') {
        if (seen.has(name)) bad([section, i, 'name'], `duplicate name "${name}" in ${section}`)
        seen.add(name)
      }
      if (typeof name === 'string' && image !== undefined) {
        manifest.origins.set(`${section}[${manifest[section].length}]`, origin([section, i, 'image']))
        manifest[section].push({ ...entry, name, image } as ImageEntry)
      }
    })
  }

  const files = top['files']
  if (files !== undefined && files !== null) {
    if (!Array.isArray(files)) bad(['files'], 'must be a list')
    else files.forEach((f: unknown, i) => {
      if (f === null || typeof f !== 'object' || Array.isArray(f) || typeof (f as FileEntry).path !== 'string') {
        bad(['files', i], 'must be a mapping with at least "path"')
        return
      }
      manifest.files.push(f as FileEntry)
    })
  }
  const volumes = top['volumes']
  if (volumes !== undefined && volumes !== null) {
    if (!Array.isArray(volumes)) bad(['volumes'], 'must be a list')
    else volumes.forEach((v: unknown, i) => {
      if (v === null || typeof v !== 'object' || typeof (v as VolumeEntry).name !== 'string') bad(['volumes', i], 'must be a mapping with at least "name"')
      else manifest.volumes.push(v as VolumeEntry)
    })
  }
  throwProblems(problems)
  return manifest
}

function unknownKeys(obj: Record<string, unknown>, at: YamlPath, known: readonly string[], bad: (p: YamlPath, m: string, atKey?: boolean) => void): void {
  for (const key of Object.keys(obj)) {
    if (known.includes(key)) continue
    const near = suggest(key, known)
    bad([...at, key], `unknown field${near ? `; did you mean "${near}"?` : ` (known: ${known.join(', ')})`}`, true)
  }
}

/**
 * Merges manifests as LinuxKit does: kernel fields replaced by later non-empty
 * values, lists concatenated; duplicate names within a section are an error.
 */
export function mergeManifests(list: readonly Manifest[]): Manifest {
  const out: Manifest = { kernel: undefined, init: [], onboot: [], onshutdown: [], services: [], files: [], volumes: [], origins: new Map() }
  const problems: string[] = []
  for (const m of list) {
    if (m.kernel) {
      const k = m.kernel
      out.kernel = {
        image: k.image || out.kernel?.image || '',
        cmdline: k.cmdline || out.kernel?.cmdline || '',
        ...(k.binary ?? out.kernel?.binary ? { binary: k.binary ?? out.kernel?.binary } : {}),
        ...(k.tar ?? out.kernel?.tar ? { tar: k.tar ?? out.kernel?.tar } : {}),
        ...(k.ucode ?? out.kernel?.ucode ? { ucode: k.ucode ?? out.kernel?.ucode } : {}),
      }
      const o = m.origins.get('kernel')
      if (o) out.origins.set('kernel', o)
    }
    m.init.forEach((img, i) => {
      const o = m.origins.get(`init[${i}]`)
      if (o) out.origins.set(`init[${out.init.length}]`, o)
      out.init.push(img)
    })
    for (const section of sections) {
      m[section].forEach((e, i) => {
        const o = m.origins.get(`${section}[${i}]`)
        const clash = out[section].findIndex((x) => x.name === e.name)
        if (clash >= 0) {
          const first = out.origins.get(`${section}[${clash}]`)
          problems.push(`${o ? `${o.file}:${o.line}:${o.col}: ` : ''}${section}: duplicate name "${e.name}"${first ? ` (first at ${first.file}:${first.line})` : ''}`)
          return
        }
        if (o) out.origins.set(`${section}[${out[section].length}]`, o)
        out[section].push(e)
      })
    }
    out.files.push(...m.files)
    out.volumes.push(...m.volumes)
  }
  if (problems.length > 0) throw new UserError(problems.join('\n'))
  return out
}
