// A manifest entry + its image's config → the OCI runtime config (config.json)
// and LinuxKit's runtime.json, with LinuxKit's semantics: each field comes from
// the manifest, else the image's org.mobyproject.config label, else (command,
// env, cwd only) the image config, else a default. `capabilities` and `binds`
// replace; `capabilities.add` and `binds.add` add to the label's list.
//
// Both files are written byte for byte as LinuxKit writes them: the values
// ConfigToOCI (src/cmd/linuxkit/moby/config.go) builds, in the Go structs of
// the runtime-spec module LinuxKit vendors (specs-go/config.go, v1.2.1) and
// LinuxKit's own Runtime struct, through json.MarshalIndent(v, "", "    ")
// (moby/build/build.go, moby/build/image.go), with no trailing newline.
import { posix } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { UserError } from '../errors/index.js'
import type { ImageEntry } from '../manifest/index.js'
import {
  mobyConfigLabel, type ImageConfig, type LinuxDevice, type LinuxDeviceCgroup, type LinuxResources, type POSIXRlimit,
  type RuntimeMount, type RuntimeNamespace, type RuntimeSpec,
} from '../oci/index.js'
import { allCapabilities, canonicalCapability, checkImageFields, labelSchemaProblems, parseRlimit, type Problem } from '../manifest/index.js'
import { compareGoStrings, goMarshalIndent, goType, goValue, type GoType } from './go-json.js'

/** specs.Version of the runtime-spec module LinuxKit vendors. */
export const ociVersion = '1.2.1'

// The Go types, field for field in declaration order with their json tags.
// Go fields LinuxKit never sets are left out where they are omitempty (so a
// zero value prints nothing either way).
const { ptr, slice, map, struct } = goType
const o = 'omitempty' as const

const idMappingType = struct([['containerID', 'uint'], ['hostID', 'uint'], ['size', 'uint']])
const mountType = struct([
  ['destination', 'string'], ['type', 'string', o], ['source', 'string', o], ['options', slice('string'), o],
  ['uidMappings', slice(idMappingType), o], ['gidMappings', slice(idMappingType), o],
])
const capabilitiesType = struct((['bounding', 'effective', 'inheritable', 'permitted', 'ambient'] as const).map((n) => [n, slice('string'), o] as const))
const processType = struct([
  ['terminal', 'bool', o],
  ['user', struct([['uid', 'uint'], ['gid', 'uint'], ['umask', ptr('uint'), o], ['additionalGids', slice('uint'), o]])],
  ['args', slice('string'), o],
  ['env', slice('string'), o],
  ['cwd', 'string'],
  ['capabilities', ptr(capabilitiesType), o],
  ['rlimits', slice(struct([['type', 'string'], ['hard', 'uint'], ['soft', 'uint']])), o],
  ['noNewPrivileges', 'bool', o],
  ['oomScoreAdj', ptr('int'), o],
])
const deviceCgroupType = struct([['allow', 'bool'], ['type', 'string', o], ['major', ptr('int'), o], ['minor', ptr('int'), o], ['access', 'string', o]])
const throttleDeviceType = struct([['major', 'int'], ['minor', 'int'], ['rate', 'uint']])
const resourcesGoType = struct([
  ['devices', slice(deviceCgroupType), o],
  ['memory', ptr(struct([
    ['limit', ptr('int'), o], ['reservation', ptr('int'), o], ['swap', ptr('int'), o], ['kernel', ptr('int'), o],
    ['kernelTCP', ptr('int'), o], ['swappiness', ptr('uint'), o], ['disableOOMKiller', ptr('bool'), o],
    ['useHierarchy', ptr('bool'), o], ['checkBeforeUpdate', ptr('bool'), o],
  ])), o],
  ['cpu', ptr(struct([
    ['shares', ptr('uint'), o], ['quota', ptr('int'), o], ['burst', ptr('uint'), o], ['period', ptr('uint'), o],
    ['realtimeRuntime', ptr('int'), o], ['realtimePeriod', ptr('uint'), o], ['cpus', 'string', o], ['mems', 'string', o],
    ['idle', ptr('int'), o],
  ])), o],
  ['pids', ptr(struct([['limit', 'int']])), o],
  ['blockIO', ptr(struct([
    ['weight', ptr('uint'), o], ['leafWeight', ptr('uint'), o],
    // LinuxWeightDevice embeds LinuxBlockIODevice: its major and minor come first.
    ['weightDevice', slice(struct([['major', 'int'], ['minor', 'int'], ['weight', ptr('uint'), o], ['leafWeight', ptr('uint'), o]])), o],
    ['throttleReadBpsDevice', slice(throttleDeviceType), o], ['throttleWriteBpsDevice', slice(throttleDeviceType), o],
    ['throttleReadIOPSDevice', slice(throttleDeviceType), o], ['throttleWriteIOPSDevice', slice(throttleDeviceType), o],
  ])), o],
  ['hugepageLimits', slice(struct([['pageSize', 'string'], ['limit', 'uint']])), o],
  ['network', ptr(struct([['classID', ptr('uint'), o], ['priorities', slice(struct([['name', 'string'], ['priority', 'uint']])), o]])), o],
  ['rdma', map(struct([['hcaHandles', ptr('uint'), o], ['hcaObjects', ptr('uint'), o]])), o],
  ['unified', map('string'), o],
])
const linuxType = struct([
  ['uidMappings', slice(idMappingType), o],
  ['gidMappings', slice(idMappingType), o],
  ['sysctl', map('string'), o],
  ['resources', ptr(resourcesGoType), o],
  ['cgroupsPath', 'string', o],
  ['namespaces', slice(struct([['type', 'string'], ['path', 'string', o]])), o],
  ['devices', slice(struct([
    ['path', 'string'], ['type', 'string'], ['major', 'int'], ['minor', 'int'],
    ['fileMode', ptr('uint'), o], ['uid', ptr('uint'), o], ['gid', ptr('uint'), o],
  ])), o],
  ['rootfsPropagation', 'string', o],
  ['maskedPaths', slice('string'), o],
  ['readonlyPaths', slice('string'), o],
])
/** specs.Spec. Hooks, domainname and the other platforms are omitempty and never set. */
export const specGoType: GoType = struct([
  ['ociVersion', 'string'],
  ['process', ptr(processType), o],
  ['root', ptr(struct([['path', 'string'], ['readonly', 'bool', o]])), o],
  ['hostname', 'string', o],
  ['mounts', slice(mountType), o],
  ['annotations', map('string'), o],
  ['linux', ptr(linuxType), o],
])
/** LinuxKit's moby.Runtime: every list is a pointer, so an empty one prints `[]`; bindNS is a struct of *string. */
export const runtimeGoType: GoType = struct([
  ['cgroups', ptr(slice('string')), o],
  ['mounts', ptr(slice(mountType)), o],
  ['mkdir', ptr(slice('string')), o],
  ['interfaces', ptr(slice(struct([['name', 'string', o], ['add', 'string', o], ['peer', 'string', o], ['createInRoot', 'bool']]))), o],
  ['bindNS', struct((['cgroup', 'ipc', 'mnt', 'net', 'pid', 'user', 'uts'] as const).map((n) => [n, ptr('string'), o] as const)), o],
  ['namespace', ptr('string'), o],
])

/**
 * The bytes of config.json for a spec from generateConfig, exactly as
 * LinuxKit writes them (no trailing newline). Any other value is written as
 * Go writes the same plain data (objects as maps, keys sorted); write a
 * runtime section with runtimeJson instead.
 */
export function configJson(value: unknown): string {
  if (isObject(value) && typeof value['ociVersion'] === 'string') return goMarshalIndent(goValue(specGoType, value, 'config'))
  return goMarshalIndent(goValue('any', value))
}

/**
 * The bytes of runtime.json, exactly as LinuxKit writes them: the merged
 * runtime section (from generateConfig) with `rootfsMounts` (see rootfsMounts)
 * put before its mounts.
 */
export function runtimeJson(runtime: Record<string, unknown>, rootfsMounts: readonly RuntimeMount[]): string {
  const own = Array.isArray(runtime['mounts']) ? (runtime['mounts'] as unknown[]).map(runtimeMount) : []
  return goMarshalIndent(goValue(runtimeGoType, { ...runtime, mounts: [...rootfsMounts, ...own] }, 'runtime'))
}

/**
 * The mounts LinuxKit puts first in runtime.json (moby/build/image.go,
 * ImageBundle) for a container at `prefix` (e.g. "containers/services/sshd"):
 * a read-only root is bind-mounted onto itself (or from `root`, where an
 * identical image was unpacked before); a writable one is an overlay of
 * `root` (default prefix/lower) under a tmpfs at prefix/tmp.
 */
export function rootfsMounts(prefix: string, readonly: boolean, root?: string): RuntimeMount[] {
  const join = (...p: string[]): string => `/${posix.join(...p).replace(/^\/+/, '')}`
  const lower = root ?? posix.join(prefix, readonly ? 'rootfs' : 'lower')
  if (readonly) return [{ source: join(lower), destination: join(prefix, 'rootfs'), options: ['bind'] }]
  const tmp = posix.join(prefix, 'tmp')
  return [
    { source: 'tmpfs', type: 'tmpfs', destination: join(tmp) },
    { destination: join(tmp), options: ['remount', 'private'] },
    {
      source: 'overlay', type: 'overlay', destination: join(prefix, 'rootfs'),
      options: [`lowerdir=${join(lower)}`, `upperdir=${join(tmp, 'upper')}`, `workdir=${join(tmp, 'work')}`],
    },
  ]
}

/** A runtime mount as written in YAML (uidmappings, gidmappings: yaml.v3's lower-cased Go names) with its JSON names. */
function runtimeMount(m: unknown): unknown {
  if (!isObject(m)) return m
  const { uidmappings, gidmappings, ...rest } = m
  return { ...rest, ...(uidmappings !== undefined ? { uidMappings: uidmappings } : {}), ...(gidmappings !== undefined ? { gidMappings: gidmappings } : {}) }
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
 *
 * The spec holds what ConfigToOCI puts in specs.Spec, so that configJson
 * writes LinuxKit's bytes: lists LinuxKit leaves nil or empty may be empty
 * here (omitempty writes neither), while capabilities and linux.resources,
 * which LinuxKit always points at, are always present.
 */
export function generateConfig(entry: ImageEntry, image: ImageConfig, idMap: ReadonlyMap<string, number>, where: string): GeneratedConfig {
  const label = labelDefaults(image, where)
  // A pointer field in LinuxKit's ImageConfig: the manifest's if set, else the label's.
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
  // A plain string field (cwd, hostname, net, ...): "" is the same as unset,
  // so the label's value shows through an empty one (assignStringEmpty).
  const strNonEmpty = (key: string): string => {
    for (const src of [entry, label]) {
      const v = src[key]
      if (v === undefined || v === null || v === '') continue
      if (!isString(v)) throw new UserError(`${where}: field "${key}" has the wrong type`)
      return v
    }
    return ''
  }
  const bool = (key: string): boolean => pick(key, isBoolean) ?? false
  const ic = image.config ?? {}

  const imageCommand = [...(ic.Entrypoint ?? []), ...(ic.Cmd ?? [])]
  const args = strings('command') ?? imageCommand
  if (args.length === 0) throw new UserError(`${where}: no command: neither the manifest, the image label nor the image config gives one`)
  const env = strings('env') ?? ic.Env ?? undefined
  const cwd = strNonEmpty('cwd') || ic.WorkingDir || '/'
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
    // "/tmp:" gives options [""], as Go's strings.Split does.
    mounts.set(dest, { destination: dest, type: 'tmpfs', source: 'tmpfs', ...(parts.length === 2 ? { options: parts[1]!.split(',') } : {}) })
  }
  const listOf = (src: Fields, key: string): string[] | undefined => {
    const v = src[key]
    if (v === undefined || v === null) return undefined
    if (!isStringArray(v)) throw new UserError(`${where}: field "${key}" must be a list of strings`)
    return v
  }
  // LinuxKit's mergeStrings means to drop repeats but never records what it
  // has seen, so label + .add is a plain concatenation.
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
    // Only these four fields are copied: LinuxKit drops a mount's uidmappings here.
    const options = isStringArray(m['options']) ? m['options'] : undefined
    mounts.set(dest, { destination: dest, type, source: source0 || type, ...(options ? { options } : {}) })
  }
  const mountList = [...mounts.values()].sort((a, b) => compareGoStrings(a.destination, b.destination))

  const namespaces: RuntimeNamespace[] = []
  const ns = (key: string, type: RuntimeNamespace['type'], defaultValue: string, newWords: string[]): void => {
    const value = strNonEmpty(key) || defaultValue
    if (value === 'host' || value === 'root') return
    namespaces.push(newWords.includes(value) ? { type } : { type, path: value })
  }
  ns('net', 'network', 'root', ['none', 'new'])
  ns('ipc', 'ipc', 'root', ['new'])
  ns('uts', 'uts', 'root', ['new'])
  ns('pid', 'pid', 'new', ['new'])
  ns('userns', 'user', 'root', ['new'])
  namespaces.push({ type: 'mount' })

  // As LinuxKit: "all" and "none" only mean something as the one entry of
  // the final list (label + .add); anywhere else they are unknown names.
  const capsFrom = (list: string[]): string[] => {
    if (list.length === 1 && list[0]!.toLowerCase() === 'none') return []
    if (list.length === 1 && list[0]!.toLowerCase() === 'all') return [...allCapabilities]
    return list.map((c) => {
      const cap = canonicalCapability(c)
      if (!(allCapabilities as readonly string[]).includes(cap)) throw new UserError(`${where}: unknown capability ${JSON.stringify(c)}`)
      return cap
    })
  }
  const caps = capsFrom(listOf(entry, 'capabilities') ?? [...(listOf(label, 'capabilities') ?? []), ...(listOf(entry, 'capabilities.add') ?? [])])
  const ambient = capsFrom(strings('ambient') ?? [])
  const bounding = [...new Set([...caps, ...ambient])].sort(compareGoStrings)

  const uid = numericId(pick('uid', isId), idMap, where, 'uid')
  const gid = numericId(pick('gid', isId), idMap, where, 'gid')
  const additionalGids = (pick('additionalGids', isIdArray) ?? []).map((g) => numericId(g, idMap, where, 'additionalGids'))
  const rlimits = rlimitsOf(strings('rlimits'), where)
  const oomScoreAdj = pick('oomScoreAdj', isInteger)

  // resources: the whole object from the manifest or the label, then a device
  // cgroup rule for each entry of devices.
  const resources = resourcesOf(pick('resources', isObject), where)
  const linuxDevices: LinuxDevice[] = []
  const deviceRules: LinuxDeviceCgroup[] = [...(resources.devices ?? [])]
  for (const d of pick('devices', isObjectArray) ?? []) {
    const path = isString(d['path']) ? d['path'] : ''
    const type = isString(d['type']) ? d['type'] : ''
    if (path === 'all') {
      deviceRules.push({ allow: true, type, access: 'rwm' })
      continue
    }
    const mode = d['mode']
    if (!isString(mode) || !/^[0-7]+$/.test(mode) || Number.parseInt(mode, 8) > 0x7fffffff) {
      throw new UserError(`${where}: device ${JSON.stringify(path)}: mode ${JSON.stringify(mode ?? '')} is not an octal number (LinuxKit needs one, e.g. "0666")`)
    }
    const major = isInteger(d['major']) ? d['major'] : 0
    const minor = isInteger(d['minor']) ? d['minor'] : 0
    linuxDevices.push({ path, type, major, minor, fileMode: Number.parseInt(mode, 8) })
    deviceRules.push({ allow: true, type, major, minor, access: 'rwm' })
  }
  if (deviceRules.length > 0) resources.devices = deviceRules

  const uidMappings = pick('uidMappings', isObjectArray) as RuntimeSpec['linux']['uidMappings']
  const gidMappings = pick('gidMappings', isObjectArray) as RuntimeSpec['linux']['gidMappings']
  const hostname = strNonEmpty('hostname')
  const annotations = pick('annotations', isStringMap)
  const sysctl = pick('sysctl', isStringMap)
  const cgroupsPath = str('cgroupsPath')
  const rootfsPropagation = str('rootfsPropagation')
  const maskedPaths = strings('maskedPaths')
  const readonlyPaths = strings('readonlyPaths')

  const spec: RuntimeSpec = {
    ociVersion,
    process: {
      terminal: false,
      user: { uid, gid, ...(additionalGids.length > 0 ? { additionalGids } : {}) },
      args,
      ...(env ? { env } : {}),
      cwd,
      capabilities: { bounding, effective: caps, inheritable: bounding, permitted: bounding, ambient },
      ...(rlimits.length > 0 ? { rlimits } : {}),
      noNewPrivileges: bool('noNewPrivileges'),
      ...(oomScoreAdj === undefined ? {} : { oomScoreAdj }),
    },
    root: { path: 'rootfs', readonly },
    ...(hostname ? { hostname } : {}),
    mounts: mountList,
    ...(annotations ? { annotations } : {}),
    linux: {
      ...(uidMappings ? { uidMappings } : {}),
      ...(gidMappings ? { gidMappings } : {}),
      ...(sysctl ? { sysctl } : {}),
      resources,
      ...(cgroupsPath ? { cgroupsPath } : {}),
      namespaces,
      ...(linuxDevices.length > 0 ? { devices: linuxDevices } : {}),
      ...(rootfsPropagation ? { rootfsPropagation } : {}),
      ...(maskedPaths ? { maskedPaths } : {}),
      ...(readonlyPaths ? { readonlyPaths } : {}),
    },
  }
  try {
    goValue(specGoType, spec, 'config')
  } catch (err) {
    throw new UserError(`${where}: ${(err as Error).message}`)
  }
  return { spec, runtime: mergeRuntime(isObject(label['runtime']) ? label['runtime'] : {}, isObject(entry['runtime']) ? entry['runtime'] : {}) }
}

/**
 * linux.resources from the manifest's (or label's) resources. The keys are
 * the runtime spec's JSON names except `blockio` (LinuxKit's schema spelling)
 * for blockIO; a huge page size is a string in Go.
 */
function resourcesOf(raw: Fields | undefined, where: string): LinuxResources {
  if (raw === undefined) return {}
  const { blockio, hugepageLimits, ...rest } = raw
  const out = { ...rest } as Fields
  if (blockio !== undefined) out['blockIO'] = blockio
  if (Array.isArray(hugepageLimits)) {
    out['hugepageLimits'] = hugepageLimits.map((h: unknown) =>
      isObject(h) && (typeof h['pageSize'] === 'number' || typeof h['pageSize'] === 'bigint') ? { ...h, pageSize: String(h['pageSize']) } : h)
  } else if (hugepageLimits !== undefined) {
    out['hugepageLimits'] = hugepageLimits
  }
  try {
    goValue(resourcesGoType, out, 'resources')
  } catch (err) {
    throw new UserError(`${where}: ${(err as Error).message}`)
  }
  return out as LinuxResources
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
  // LinuxKit's IDNumeric: "" and "root" are 0, before any container name.
  if (v === '' || v === 'root') return 0
  if (typeof v === 'string' && /^[0-9]+$/.test(v)) return Number(v)
  if (typeof v === 'string' && idMap.has(v)) return idMap.get(v)!
  throw new UserError(`${where}: ${field} ${JSON.stringify(v)} is neither a number nor the name of a container in this manifest`)
}

function rlimitsOf(list: string[] | undefined, where: string): POSIXRlimit[] {
  return (list ?? []).map((r) => {
    const parsed = parseRlimit(r)
    if (typeof parsed === 'string') throw new UserError(`${where}: ${parsed}`)
    return { type: parsed.type, hard: parsed.hard, soft: parsed.soft }
  })
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
