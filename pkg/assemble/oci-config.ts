// A manifest entry + its image's config → the OCI runtime config (config.json)
// and LinuxKit's runtime.json, with LinuxKit's semantics: each field comes from
// the manifest, else the image's org.mobyproject.config label, else (command,
// env, cwd only) the image config, else a default. `capabilities` and `binds`
// replace; `capabilities.add` and `binds.add` add to the label's list.
import { parse as parseYaml } from 'yaml'
import { UserError } from '../errors/index.js'
import type { ImageEntry } from '../manifest/index.js'
import { mobyConfigLabel, type ImageConfig, type RuntimeMount, type RuntimeNamespace, type RuntimeSpec } from '../oci/index.js'
import { allCapabilities, canonicalCapability, checkImageFields, labelSchemaProblems, parseRlimit, type Problem, type Rlimit } from '../manifest/index.js'

export const ociVersion = '1.0.2'

/**
 * JSON text of a runtime config. Numbers too big for a JS number (rlimits of
 * 2^64-1) are bigints and are written out exactly.
 */
export function configJson(value: unknown): string {
  const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `\u0000bigint:${v.toString()}` : v), 4)
  return `${text.replace(/"\\u0000bigint:([0-9]+)"/g, '$1')}\n`
}

export interface GeneratedConfig {
  spec: RuntimeSpec
  /** LinuxKit's runtime: section (mounts, mkdir, interfaces, bindNS, cgroups, namespace). */
  runtime: Record<string, unknown>
}

type Fields = Record<string, unknown>

/**
 * Parses and checks an image's org.mobyproject.config label, if any, as
 * LinuxKit does: JSON (YAML accepted), the per-image fields only, no name or
 * image. Problems name the image (`where`) and the field.
 */
export function labelDefaults(config: ImageConfig, where: string): Fields {
  const raw = config.config?.Labels?.[mobyConfigLabel]
  if (raw === undefined || raw === '') return {}
  const fail = (msg: string): never => { throw new UserError(`${where}: label ${mobyConfigLabel}: ${msg}`) }
  let parsed: unknown
  try {
    parsed = parseYaml(raw, { maxAliasCount: 100 })
  } catch (err) {
    fail(`not valid JSON: ${(err as Error).message.split('\n')[0]}`)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) fail('must be a JSON object')
  const label = parsed as Fields
  for (const key of ['name', 'image']) if (key in label) fail(`"${key}" cannot be set in a label`)
  const problems: Problem[] = []
  const at = (path: ReadonlyArray<string | number>, message: string): Problem =>
    ({ file: where, line: 0, col: 0, path: path.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join('.').replace(/\.\[/g, '['), message })
  problems.push(...labelSchemaProblems(label, at))
  if (problems.length === 0) checkImageFields(label, [], (path, message) => { problems.push(at(path, message)) })
  if (problems.length > 0) fail(problems.map((p) => `${p.path || '(top)'}: ${p.message}`).join('; '))
  return label
}

/**
 * `idMap` gives the numeric uid/gid LinuxKit assigns each container name
 * (100, 101, ... over onboot, onshutdown, services), so `uid: sshd` works.
 */
export function generateConfig(entry: ImageEntry, image: ImageConfig, idMap: ReadonlyMap<string, number>, where: string): GeneratedConfig {
  const label = labelDefaults(image, where)
  const pick = <T>(key: string, check: (v: unknown) => v is T): T | undefined => {
    for (const [src, from] of [[entry, 'manifest'], [label, 'label']] as const) {
      const v = src[key]
      if (v === undefined || v === null) continue
      if (!check(v)) throw new UserError(`${where}: field "${key}" from the ${from} has the wrong type`)
      return v
    }
    return undefined
  }
  const strings = (key: string): string[] | undefined => pick(key, isStringArray)
  const str = (key: string): string | undefined => pick(key, isString)
  const bool = (key: string): boolean => pick(key, isBoolean) ?? false
  const ic = image.config ?? {}

  const imageCommand = [...(ic.Entrypoint ?? []), ...(ic.Cmd ?? [])]
  const args = strings('command') ?? imageCommand
  if (args.length === 0) throw new UserError(`${where}: no command: neither the manifest, the image label nor the image config gives one`)
  const env = strings('env') ?? ic.Env ?? []
  const cwd = str('cwd') || ic.WorkingDir || '/'
  if (!cwd.startsWith('/') || cwd.split('/').includes('..')) throw new UserError(`${where}: cwd ${JSON.stringify(cwd)} must be an absolute path without ".."`)
  const readonly = bool('readonly')

  const mounts = new Map<string, RuntimeMount>()
  mounts.set('/proc', { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'nodev', 'noexec', 'relatime'] })
  mounts.set('/dev', { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k', ...(readonly ? ['ro'] : [])] })
  mounts.set('/dev/pts', { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'] })
  mounts.set('/sys', { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', ...(readonly ? ['ro'] : [])] })
  mounts.set('/sys/fs/cgroup', { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] })
  for (const t of strings('tmpfs') ?? []) {
    const parts = t.split(':')
    if (parts.length > 2) throw new UserError(`${where}: tmpfs ${JSON.stringify(t)}: too many ":"`)
    const dest = checkDestination(parts[0]!, where, 'tmpfs')
    mounts.set(dest, { destination: dest, type: 'tmpfs', source: 'tmpfs', options: parts[1] ? parts[1].split(',') : [] })
  }
  const listOf = (src: Fields, key: string): string[] | undefined => {
    const v = src[key]
    if (v === undefined || v === null) return undefined
    if (!isStringArray(v)) throw new UserError(`${where}: field "${key}" must be a list of strings`)
    return v
  }
  const binds = listOf(entry, 'binds') ?? [...(listOf(label, 'binds') ?? []), ...(listOf(entry, 'binds.add') ?? [])]
  for (const b of binds) {
    const parts = b.split(':')
    if (parts.length < 2) throw new UserError(`${where}: bind ${JSON.stringify(b)}: missing ":"`)
    if (parts.length > 3) throw new UserError(`${where}: bind ${JSON.stringify(b)}: too many ":"`)
    const dest = checkDestination(parts[1]!, where, 'bind')
    const options = parts.length === 3 ? [...parts[2]!.split(','), 'rbind'] : ['rw', 'rbind', 'rshared']
    mounts.set(dest, { destination: dest, type: 'bind', source: parts[0]!, options })
  }
  const rawMounts = pick('mounts', isObjectArray) ?? []
  for (const m of rawMounts) {
    let type = typeof m['type'] === 'string' ? m['type'] : ''
    const source0 = typeof m['source'] === 'string' ? m['source'] : ''
    let dest = typeof m['destination'] === 'string' ? m['destination'] : ''
    if (type === '' && ['mqueue', 'devpts', 'proc', 'sysfs', 'cgroup'].includes(source0)) type = source0
    if (type === '' && dest === '/dev') type = 'tmpfs'
    if (type === '') throw new UserError(`${where}: mount for destination ${JSON.stringify(dest)} is missing type`)
    if (dest === '') dest = defaultMountpoint(type)
    if (dest === '') throw new UserError(`${where}: mount of type ${type} is missing destination`)
    dest = checkDestination(dest, where, 'mount')
    const options = isStringArray(m['options']) ? m['options'] : undefined
    mounts.set(dest, { destination: dest, type, source: source0 || type, ...(options ? { options } : {}) })
  }
  const mountList = [...mounts.values()].sort((a, b) => (a.destination < b.destination ? -1 : a.destination > b.destination ? 1 : 0))

  const namespaces: RuntimeNamespace[] = []
  const ns = (key: string, type: RuntimeNamespace['type'], defaultValue: string, newWords: string[]): void => {
    const value = str(key) || defaultValue
    if (value === 'host' || value === 'root') return
    namespaces.push(newWords.includes(value) ? { type } : { type, path: value })
  }
  ns('net', 'network', 'root', ['none', 'new'])
  ns('ipc', 'ipc', 'root', ['new'])
  ns('uts', 'uts', 'root', ['new'])
  ns('pid', 'pid', 'new', ['new'])
  ns('userns', 'user', 'root', ['new'])
  namespaces.push({ type: 'mount' })

  const capsFrom = (list: string[] | undefined): string[] => {
    if (list === undefined) return []
    if (list.length === 1 && list[0]!.toLowerCase() === 'none') return []
    if (list.length === 1 && list[0]!.toLowerCase() === 'all') return [...allCapabilities]
    return list.map((c) => {
      const cap = canonicalCapability(c)
      if (!(allCapabilities as readonly string[]).includes(cap)) throw new UserError(`${where}: unknown capability ${JSON.stringify(c)}`)
      return cap
    })
  }
  const entryCaps = listOf(entry, 'capabilities')
  const caps = entryCaps !== undefined
    ? capsFrom(entryCaps)
    : [...capsFrom(listOf(label, 'capabilities')), ...capsFrom(listOf(entry, 'capabilities.add'))]
  const ambient = capsFrom(strings('ambient'))
  const bounding = [...new Set([...caps, ...ambient])].sort()
  // LinuxKit keeps the effective list as given (label list + .add), repeats and all.
  const effective = caps

  const uid = numericId(pick('uid', isId), idMap, where, 'uid')
  const gid = numericId(pick('gid', isId), idMap, where, 'gid')
  const additionalGids = (pick('additionalGids', isIdArray) ?? []).map((g) => numericId(g, idMap, where, 'additionalGids'))

  const spec: RuntimeSpec = {
    ociVersion,
    process: {
      terminal: false,
      user: { uid, gid, ...(additionalGids.length > 0 ? { additionalGids } : {}) },
      args,
      ...(env.length > 0 ? { env } : {}),
      cwd,
      capabilities: { bounding, effective, inheritable: bounding, permitted: bounding, ambient },
      ...(rlimitsOf(strings('rlimits'), where)),
      noNewPrivileges: bool('noNewPrivileges'),
      ...(pick('oomScoreAdj', isInteger) === undefined ? {} : { oomScoreAdj: pick('oomScoreAdj', isInteger)! }),
    },
    root: { path: 'rootfs', readonly },
    ...(str('hostname') ? { hostname: str('hostname')! } : {}),
    mounts: mountList,
    linux: {
      namespaces,
      ...(strings('maskedPaths') ? { maskedPaths: strings('maskedPaths')! } : {}),
      ...(strings('readonlyPaths') ? { readonlyPaths: strings('readonlyPaths')! } : {}),
      ...(pick('resources', isObject) ? { resources: pick('resources', isObject)! } : {}),
      ...(str('cgroupsPath') ? { cgroupsPath: str('cgroupsPath')! } : {}),
      ...(pick('sysctl', isStringMap) ? { sysctl: pick('sysctl', isStringMap)! } : {}),
      ...(str('rootfsPropagation') ? { rootfsPropagation: str('rootfsPropagation')! } : {}),
      ...(pick('uidMappings', isObjectArray) ? { uidMappings: pick('uidMappings', isObjectArray) as never } : {}),
      ...(pick('gidMappings', isObjectArray) ? { gidMappings: pick('gidMappings', isObjectArray) as never } : {}),
    },
    ...(pick('annotations', isStringMap) ? { annotations: pick('annotations', isStringMap)! } : {}),
  }
  return { spec, runtime: mergeRuntime(isObject(label['runtime']) ? label['runtime'] : {}, isObject(entry['runtime']) ? entry['runtime'] : {}) }
}

/**
 * LinuxKit's runtime section, field by field: each of cgroups, mounts, mkdir,
 * interfaces, every bindNS namespace and namespace comes from the manifest,
 * else the label, else empty; every field is written out.
 */
export function mergeRuntime(label: Fields, entry: Fields): Record<string, unknown> {
  const field = (key: string, empty: unknown): unknown => entry[key] ?? label[key] ?? empty
  const labelNS = isObject(label['bindNS']) ? label['bindNS'] : {}
  const entryNS = isObject(entry['bindNS']) ? entry['bindNS'] : {}
  const bindNS: Record<string, unknown> = {}
  for (const ns of ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'user', 'uts']) bindNS[ns] = entryNS[ns] ?? labelNS[ns] ?? ''
  return {
    cgroups: field('cgroups', []),
    mounts: field('mounts', []),
    mkdir: field('mkdir', []),
    interfaces: field('interfaces', []),
    bindNS,
    namespace: field('namespace', ''),
  }
}

function defaultMountpoint(type: string): string {
  switch (type) {
    case 'proc': return '/proc'
    case 'devpts': return '/dev/pts'
    case 'sysfs': return '/sys'
    case 'cgroup': return '/sys/fs/cgroup'
    case 'mqueue': return '/dev/mqueue'
    default: return ''
  }
}

function checkDestination(dest: string, where: string, what: string): string {
  if (!dest.startsWith('/') || dest.split('/').includes('..')) {
    throw new UserError(`${where}: ${what} destination ${JSON.stringify(dest)} must be an absolute path without ".."`)
  }
  return dest
}

function numericId(v: unknown, idMap: ReadonlyMap<string, number>, where: string, field: string): number {
  if (v === undefined) return 0
  if (typeof v === 'number') return v
  if (typeof v === 'string' && /^[0-9]+$/.test(v)) return Number(v)
  if (typeof v === 'string' && idMap.has(v)) return idMap.get(v)!
  throw new UserError(`${where}: ${field} ${JSON.stringify(v)} is neither a number nor the name of a container in this manifest`)
}

function rlimitsOf(list: string[] | undefined, where: string): { rlimits?: Rlimit[] } {
  if (!list || list.length === 0) return {}
  return {
    rlimits: list.map((r) => {
      const parsed = parseRlimit(r)
      if (typeof parsed === 'string') throw new UserError(`${where}: ${parsed}`)
      return parsed
    }),
  }
}

function isString(v: unknown): v is string { return typeof v === 'string' }
function isBoolean(v: unknown): v is boolean { return typeof v === 'boolean' }
function isInteger(v: unknown): v is number { return typeof v === 'number' && Number.isInteger(v) }
function isStringArray(v: unknown): v is string[] { return Array.isArray(v) && v.every((x) => typeof x === 'string') }
function isObject(v: unknown): v is Record<string, unknown> { return v !== null && typeof v === 'object' && !Array.isArray(v) }
function isObjectArray(v: unknown): v is Array<Record<string, unknown>> { return Array.isArray(v) && v.every(isObject) }
function isStringMap(v: unknown): v is Record<string, string> { return isObject(v) && Object.values(v).every((x) => typeof x === 'string') }
function isId(v: unknown): v is number | string { return typeof v === 'string' || isInteger(v) }
function isIdArray(v: unknown): v is Array<number | string> { return Array.isArray(v) && v.every(isId) }
