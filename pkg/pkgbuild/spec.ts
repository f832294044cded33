// A package folder's build.yml: what keel builds into an OCI image.
//
//   image: busybox                 # image name (required)
//   org: keel                      # namespace of the image reference (default keel)
//   arches: [amd64]
//   packages: [busybox-static]     # Debian packages, dependencies resolved
//   exclude: [libc6]               # never pulled in as a dependency
//   files:                         # from the folder into the image
//     - source: passwd
//       path: /etc/passwd
//       mode: "0644"
//     - path: /etc/motd
//       contents: "hi\n"
//   extra-sources: ["../common:src/common"]  # folders from outside, in the build context
//   build:                         # host commands, run with sh -e in the folder
//     - make -C src O="$KEEL_WORK/obj"
//   config: {...}                  # becomes the org.mobyproject.config label
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { ExtraSource } from './hash.js'
import { UserError } from '../errors/index.js'
import { loadYaml, suggest, throwProblems, type Problem, type YamlPath } from '../manifest/yaml.js'

export interface PackageFile {
  path: string
  source?: string
  contents?: string
  mode?: number
}

export interface PackageSpec {
  dir: string
  image: string
  org: string
  arches: string[]
  packages: string[]
  exclude: string[]
  files: PackageFile[]
  build: string[]
  /** LinuxKit's extra-sources: folders outside the package, part of its tag, copied into the build context. */
  extraSources: ExtraSource[]
  config: Record<string, unknown> | undefined
}

const topKeys = ['image', 'org', 'arches', 'packages', 'exclude', 'files', 'extra-sources', 'build', 'config'] as const
const fileKeys = ['path', 'source', 'contents', 'mode'] as const
const namePattern = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/
const orgPattern = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$|^[a-zA-Z0-9.-]+(?::[0-9]+)?(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)+$/

export async function readPackageSpec(dir: string): Promise<PackageSpec> {
  const file = join(dir, 'build.yml')
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UserError(`${dir}: no build.yml in this folder`, { hint: 'a package folder needs a build.yml naming at least `image:`' })
    throw err
  }
  return parsePackageSpec(text, file, dir)
}

export function parsePackageSpec(text: string, file: string, dir: string): PackageSpec {
  const src = loadYaml(text, file)
  const problems: Problem[] = []
  const bad = (path: YamlPath, msg: string, atKey = false): void => { problems.push(src.problem(path, msg, atKey)) }
  const raw = src.data
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    bad([], 'build.yml must be a mapping with at least `image:`')
    throwProblems(problems)
  }
  const rawSpec = raw as Record<string, unknown>
  for (const key of Object.keys(rawSpec)) {
    if (!(topKeys as readonly string[]).includes(key)) {
      const near = suggest(key, topKeys)
      bad([key], `unknown field${near ? `; did you mean "${near}"?` : ` (known: ${topKeys.join(', ')})`}`, true)
    }
  }
  const str = (path: YamlPath, v: unknown, pattern?: RegExp, what?: string): string | undefined => {
    if (typeof v !== 'string' || v === '') { bad(path, 'must be a non-empty string'); return undefined }
    if (pattern && !pattern.test(v)) { bad(path, `${JSON.stringify(v)} is not a valid ${what}`); return undefined }
    return v
  }
  const strList = (key: string, pattern?: RegExp, what?: string): string[] => {
    const v = rawSpec[key]
    if (v === undefined || v === null) return []
    if (!Array.isArray(v)) { bad([key], 'must be a list of strings'); return [] }
    return v.map((item, i) => str([key, i], item, pattern, what)).filter((s): s is string => s !== undefined)
  }

  const image = rawSpec['image'] === undefined ? (bad([], 'missing required field "image"'), '') : str(['image'], rawSpec['image'], namePattern, 'image name') ?? ''
  const org = rawSpec['org'] === undefined ? 'keel' : str(['org'], rawSpec['org'], orgPattern, 'org') ?? 'keel'
  const arches = rawSpec['arches'] === undefined ? ['amd64'] : strList('arches')
  if (arches.length > 0 && !arches.includes('amd64')) bad(['arches'], 'keel builds amd64 packages only; include amd64')
  const packages = strList('packages', /^[a-z0-9][a-z0-9+.-]+(=[A-Za-z0-9.+~:-]+)?$/, 'Debian package name')
  const exclude = strList('exclude', /^[a-z0-9][a-z0-9+.-]+$/, 'Debian package name')
  const build = strList('build')
  // "SRC:DST": SRC relative to the folder (it may leave it: that is the point), DST inside the build context.
  const extraSources: ExtraSource[] = []
  strList('extra-sources').forEach((item, i) => {
    const parts = item.split(':')
    const [from, dest] = parts
    if (parts.length !== 2 || !from || !dest) { bad(['extra-sources', i], 'must be "SOURCE:DESTINATION", e.g. "../common:src/common"'); return }
    const clean = dest.replace(/\/+$/, '')
    if (clean.startsWith('/') || clean.split('/').some((p) => p === '..' || p === '.' || p === '') || clean === 'build.yml' || clean === 'build.lock') {
      bad(['extra-sources', i], `destination ${JSON.stringify(dest)} must be a relative path inside the build context, without "." or ".."`)
      return
    }
    extraSources.push({ source: resolve(dir, from), dest: clean })
  })

  const files: PackageFile[] = []
  const rawFiles = rawSpec['files']
  if (rawFiles !== undefined && rawFiles !== null) {
    if (!Array.isArray(rawFiles)) bad(['files'], 'must be a list')
    else rawFiles.forEach((f: unknown, i) => {
      if (f === null || typeof f !== 'object' || Array.isArray(f)) { bad(['files', i], 'must be a mapping with path and source or contents'); return }
      const entry = f as Record<string, unknown>
      for (const key of Object.keys(entry)) {
        if (!(fileKeys as readonly string[]).includes(key)) {
          const near = suggest(key, fileKeys)
          bad(['files', i, key], `unknown field${near ? `; did you mean "${near}"?` : ''}`, true)
        }
      }
      const path = str(['files', i, 'path'], entry['path'])
      if (path !== undefined && (!path.startsWith('/') || path.split('/').includes('..'))) bad(['files', i, 'path'], 'must be an absolute path without ".."')
      const hasSource = entry['source'] !== undefined
      const hasContents = entry['contents'] !== undefined
      if (hasSource === hasContents) bad(['files', i], 'needs exactly one of "source" or "contents"')
      const source = hasSource ? str(['files', i, 'source'], entry['source']) : undefined
      if (source !== undefined && (source.startsWith('/') || source.split('/').includes('..'))) bad(['files', i, 'source'], 'must be a path inside the package folder')
      const contents = hasContents ? (typeof entry['contents'] === 'string' ? entry['contents'] : (bad(['files', i, 'contents'], 'must be a string'), undefined)) : undefined
      let mode: number | undefined
      if (entry['mode'] !== undefined) {
        const m = entry['mode']
        if (typeof m === 'string' && /^0?[0-7]{3,4}$/.test(m)) mode = Number.parseInt(m, 8)
        else bad(['files', i, 'mode'], 'must be an octal string such as "0644"')
      }
      if (path !== undefined) files.push({ path, ...(source === undefined ? {} : { source }), ...(contents === undefined ? {} : { contents }), ...(mode === undefined ? {} : { mode }) })
    })
  }

  let config: Record<string, unknown> | undefined
  const rawConfig = rawSpec['config']
  if (rawConfig !== undefined && rawConfig !== null) {
    if (typeof rawConfig !== 'object' || Array.isArray(rawConfig)) bad(['config'], 'must be a mapping of image defaults (as in a manifest entry)')
    else config = rawConfig as Record<string, unknown>
  }
  throwProblems(problems)
  return { dir, image, org, arches, packages, exclude, files, build, extraSources, config }
}
