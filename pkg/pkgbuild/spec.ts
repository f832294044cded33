// A package folder's build.yml: what keel builds into an OCI image.
//
//   image: busybox                 # image name (required)
//   org: keel                      # namespace of the image reference (default keel);
//                                  # a registry host in it (127.0.0.1:5000/keel) is where push and pull go
//   tag: "{{.Hash}}"               # LinuxKit's tag template; must contain {{.Hash}}
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
//   buildArgs: [VERSION=1]         # LinuxKit's build args: environment of the build steps, part of the tag
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
  /** LinuxKit's buildArgs: NAME=VALUE, in the environment of the build steps. */
  buildArgs: Map<string, string>
  /** LinuxKit's tag template: {{.Hash}} stands for the content hash. */
  tagTemplate: string
  config: Record<string, unknown> | undefined
}

const topKeys = ['image', 'org', 'tag', 'arches', 'packages', 'exclude', 'files', 'extra-sources', 'build', 'buildArgs', 'config'] as const
const fileKeys = ['path', 'source', 'contents', 'mode'] as const
const namePattern = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/
const orgPattern = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$|^[a-zA-Z0-9.-]+(?::[0-9]+)?(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)+$/

/** A build arg's name: an environment variable name that keel does not set itself. */
const buildArgName = /^[A-Za-z_][A-Za-z0-9_]*$/
const reservedArgs = /^(KEEL_.*|SOURCE_DATE_EPOCH|PATH|HOME)$/
/** {{.Hash}} as Go's text/template writes it, spaces inside the braces allowed. */
const hashPlaceholder = /\{\{-?\s*\.Hash\s*-?\}\}/g
const tagPattern = /^[\w][\w.-]{0,127}$/

/**
 * A build arg, "NAME=VALUE", split; a string saying what is wrong otherwise.
 * Shared by build.yml's buildArgs and `keel pkg build --build-arg`.
 */
export function parseBuildArg(raw: string): { name: string; value: string } | string {
  const eq = raw.indexOf('=')
  if (eq <= 0) return `${JSON.stringify(raw)} must be NAME=VALUE`
  const name = raw.slice(0, eq)
  if (!buildArgName.test(name)) return `${JSON.stringify(name)} is not a valid name (letters, digits and _, not starting with a digit)`
  if (reservedArgs.test(name)) return `${name} is set by keel itself (KEEL_*, SOURCE_DATE_EPOCH, PATH and HOME are reserved)`
  return { name, value: raw.slice(eq + 1) }
}

/** The tag a template gives for a content hash (LinuxKit's {{.Hash}}). */
export function expandTagTemplate(template: string, hash: string): string {
  return template.replace(hashPlaceholder, hash)
}

/** What is wrong with a tag template, or undefined. */
function checkTagTemplate(template: string): string | undefined {
  if (template.match(hashPlaceholder) === null) return 'must contain {{.Hash}}: keel tags are content hashes, so that a changed folder gets a new tag'
  const sample = expandTagTemplate(template, '0'.repeat(20))
  if (/\{\{|\}\}/.test(sample)) return 'only {{.Hash}} may appear in the template'
  if (!tagPattern.test(sample)) return `${JSON.stringify(template)} does not give a valid tag (letters, digits, _ . -, at most 128, not starting with . or -)`
  return undefined
}

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
  const buildArgs = new Map<string, string>()
  strList('buildArgs').forEach((item, i) => {
    const arg = parseBuildArg(item)
    if (typeof arg === 'string') { bad(['buildArgs', i], arg); return }
    if (buildArgs.has(arg.name)) { bad(['buildArgs', i], `${arg.name} is given twice`); return }
    buildArgs.set(arg.name, arg.value)
  })
  let tagTemplate = '{{.Hash}}'
  if (rawSpec['tag'] !== undefined) {
    const raw = str(['tag'], rawSpec['tag'])
    const problem = raw === undefined ? undefined : checkTagTemplate(raw)
    if (problem !== undefined) bad(['tag'], problem)
    else if (raw !== undefined) tagTemplate = raw
  }
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
  return { dir, image, org, arches, packages, exclude, files, build, extraSources, buildArgs, tagTemplate, config }
}
