// Pure parsers for `keel run qemu`'s networking, port publishing and disk
// options. Each takes the text the user gave and returns data, or throws a
// UserError naming the option and what is wrong with it.
import { randomBytes } from 'node:crypto'
import { UserError } from '../errors/index.js'

/** How the guest's one network card reaches the world. */
export type Networking =
  | { mode: 'user' }
  /** A tap device that exists (or that QEMU creates, when no name is given). */
  | { mode: 'tap'; ifname?: string }
  /** A bridge, joined through qemu-bridge-helper (QEMU's default bridge is br0). */
  | { mode: 'bridge'; bridge?: string }
  | { mode: 'none' }

export interface PublishedPort {
  /** The host address the port is bound to (127.0.0.1 unless given). */
  hostAddress: string
  hostPort: number
  guestPort: number
  protocol: 'tcp' | 'udp'
}

/** A Linux interface name: at most 15 bytes, no commas (QEMU's option syntax), slashes or spaces. */
function checkIfname(name: string, what: string, spec: string): string {
  if (!/^[A-Za-z0-9_.:@-]{1,15}$/.test(name)) {
    throw new UserError(`--networking ${spec}: ${JSON.stringify(name)} is not a valid ${what} name (1 to 15 letters, digits, or _.:@-)`)
  }
  return name
}

/** --networking user|tap[,IFNAME]|bridge[,BRIDGE]|none */
export function parseNetworking(spec: string): Networking {
  const [mode, name, ...rest] = spec.split(',')
  if (rest.length > 0) throw new UserError(`--networking ${spec}: too many parts; give MODE or MODE,NAME`)
  switch (mode) {
    case 'user':
    case 'default':
    case 'none':
      if (name !== undefined) throw new UserError(`--networking ${spec}: ${mode} networking takes no name`)
      return { mode: mode === 'default' ? 'user' : mode }
    case 'tap':
      return name === undefined ? { mode: 'tap' } : { mode: 'tap', ifname: checkIfname(name, 'tap interface', spec) }
    case 'bridge':
      return name === undefined ? { mode: 'bridge' } : { mode: 'bridge', bridge: checkIfname(name, 'bridge', spec) }
    default:
      throw new UserError(`--networking ${spec}: unknown mode ${JSON.stringify(mode)}; use user, tap[,IFNAME], bridge[,BRIDGE] or none`)
  }
}

function parsePort(text: string, which: string, spec: string): number {
  if (!/^[0-9]{1,5}$/.test(text)) throw new UserError(`--publish ${spec}: the ${which} port ${JSON.stringify(text)} is not a number`)
  const port = Number(text)
  if (port < 1 || port > 65535) throw new UserError(`--publish ${spec}: the ${which} port ${port} is out of range (1 to 65535)`)
  return port
}

/** --publish [IP:]HOST:GUEST[/tcp|/udp]; IP is an IPv4 address (QEMU's user networking forwards IPv4). */
export function parsePublish(spec: string): PublishedPort {
  const slash = spec.lastIndexOf('/')
  const ports = slash === -1 ? spec : spec.slice(0, slash)
  const protocol = slash === -1 ? 'tcp' : spec.slice(slash + 1)
  if (protocol !== 'tcp' && protocol !== 'udp') throw new UserError(`--publish ${spec}: the protocol must be tcp or udp, not ${JSON.stringify(protocol)}`)
  const parts = ports.split(':')
  if (parts.length < 2 || parts.length > 3) throw new UserError(`--publish ${spec}: give [IP:]HOST_PORT:GUEST_PORT[/tcp|/udp], e.g. 8080:80`)
  const hostAddress = parts.length === 3 ? parts[0]! : '127.0.0.1'
  const octets = hostAddress.split('.')
  if (octets.length !== 4 || !octets.every((o) => /^[0-9]{1,3}$/.test(o) && Number(o) <= 255)) {
    throw new UserError(`--publish ${spec}: ${JSON.stringify(hostAddress)} is not an IPv4 address`)
  }
  return {
    hostAddress,
    hostPort: parsePort(parts.at(-2)!, 'host', spec),
    guestPort: parsePort(parts.at(-1)!, 'guest', spec),
    protocol,
  }
}

/** Checks the published ports against the networking mode and each other. */
export function checkPublished(networking: Networking, ports: readonly PublishedPort[]): void {
  if (ports.length > 0 && networking.mode !== 'user') {
    throw new UserError(`--publish needs user networking; --networking is ${networking.mode}`, {
      hint: 'with tap or bridge networking the guest has its own address: reach it there',
    })
  }
  const seen = new Set<string>()
  for (const p of ports) {
    const key = `${p.protocol}:${p.hostAddress}:${p.hostPort}`
    if (seen.has(key)) throw new UserError(`--publish: ${p.hostAddress}:${p.hostPort}/${p.protocol} is published twice`)
    seen.add(key)
  }
}

/** QEMU's hostfwd rule for a published port: hostfwd=tcp:127.0.0.1:8080-:80 */
export function formatHostForward(p: PublishedPort): string {
  return `hostfwd=${p.protocol}:${p.hostAddress}:${p.hostPort}-:${p.guestPort}`
}

/** A random unicast, locally administered MAC address (as LinuxKit makes them). */
export function generateMac(bytes: Uint8Array = randomBytes(6)): string {
  const b = Uint8Array.from(bytes.subarray(0, 6))
  b[0] = (b[0]! & 0xfe) | 0x02
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':')
}

/** A MAC address as written in a state folder: six hex pairs, unicast. */
export function parseMac(text: string, where: string): string {
  const mac = text.trim().toLowerCase()
  if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(mac)) throw new UserError(`${where}: ${JSON.stringify(text.trim())} is not a MAC address`, { hint: 'delete the file and keel makes a new one' })
  if ((parseInt(mac.slice(0, 2), 16) & 1) === 1) throw new UserError(`${where}: ${mac} is a multicast address`, { hint: 'delete the file and keel makes a new one' })
  return mac
}

export interface DiskSpec {
  /** Undefined: a disk kept in the state folder (diskN.img or diskN.qcow2). */
  path?: string
  /** Bytes, for a disk that is created; undefined means the default size. */
  size?: number
  /** QEMU's format name; undefined means from the extension (qcow2) or raw. */
  format?: string
}

const diskFormats = new Set(['raw', 'qcow2', 'vpc', 'vhdx', 'vmdk', 'qed', 'vdi'])

/** "512M", "2G", "1048576" (binary units) → bytes. */
export function parseByteSize(text: string, where: string): number {
  const m = /^([0-9]+)([KMGT]?)i?B?$/i.exec(text.trim())
  if (!m) throw new UserError(`${where}: ${JSON.stringify(text)} is not a size (a number of bytes with an optional K, M, G or T)`)
  const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G' | 'T']
  const bytes = Number(m[1]) * unit
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new UserError(`${where}: size ${text} is out of range`)
  return bytes
}

/** --disk [PATH][,size=S][,format=F] (LinuxKit also accepts file=PATH). */
export function parseDiskSpec(spec: string): DiskSpec {
  const out: DiskSpec = {}
  const parts = spec.split(',')
  parts.forEach((part, i) => {
    const eq = part.indexOf('=')
    const key = eq === -1 ? undefined : part.slice(0, eq)
    const value = eq === -1 ? part : part.slice(eq + 1)
    if (key === undefined || key === 'file') {
      if (key === undefined && i !== 0) throw new UserError(`--disk ${spec}: ${JSON.stringify(part)} is not KEY=VALUE (size=, format=)`)
      if (value === '') throw new UserError(`--disk ${spec}: empty path`)
      if (out.path !== undefined) throw new UserError(`--disk ${spec}: the path is given twice`)
      out.path = value
    } else if (key === 'size') {
      out.size = parseByteSize(value, `--disk ${spec}`)
    } else if (key === 'format') {
      if (!diskFormats.has(value)) throw new UserError(`--disk ${spec}: unknown format ${JSON.stringify(value)}; use one of ${[...diskFormats].join(', ')}`)
      out.format = value
    } else {
      throw new UserError(`--disk ${spec}: unknown key ${JSON.stringify(key)}; use size= or format=`)
    }
  })
  return out
}

export interface FwCfgItem {
  /** The item's name; user items live under opt/ (QEMU warns about others). */
  name: string
  file: string
}

/** --fw-cfg NAME=FILE: a QEMU fw_cfg item (keel's metadata package reads opt/keel/userdata). */
export function parseFwCfg(spec: string): FwCfgItem {
  const eq = spec.indexOf('=')
  const name = eq === -1 ? '' : spec.slice(0, eq)
  const file = eq === -1 ? '' : spec.slice(eq + 1)
  if (name === '' || file === '') throw new UserError(`--fw-cfg ${spec}: give NAME=FILE, e.g. opt/keel/userdata=user-data.json`)
  if (!/^opt\/[A-Za-z0-9._/-]+$/.test(name) || name.length > 55) {
    throw new UserError(`--fw-cfg ${spec}: the name must start with opt/ and hold only letters, digits and ._/- (at most 55 characters)`)
  }
  return { name, file }
}

/** One rule of qemu-bridge-helper's ACL file (/etc/qemu/bridge.conf). */
export type BridgeAclRule =
  | { kind: 'allow' | 'deny'; name: string } // name 'all' matches every bridge
  | { kind: 'include'; path: string }

/**
 * qemu-bridge-helper's ACL syntax: one `allow NAME`, `deny NAME` (NAME may
 * be `all`) or `include FILE` per line; blank lines and lines starting with
 * # are skipped. At any other line the helper stops reading: it refuses the
 * whole file when it is bridge.conf itself, and keeps the rules read so far
 * from an included file. So this returns the rules before the first bad
 * line, and that line as `problem` (file:line: what is wrong).
 */
export function parseBridgeAcl(text: string, file: string): { rules: BridgeAclRule[]; problem?: string } {
  const rules: BridgeAclRule[] = []
  const lines = text.split('\n')
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const m = /^(\S+)[ \t]+(.*)$/.exec(line)
    const where = `${file}:${i + 1}`
    if (!m) return { rules, problem: `${where}: ${JSON.stringify(line)} is not a rule (allow BRIDGE, deny BRIDGE or include FILE)` }
    const cmd = m[1]!
    const arg = m[2]!
    if (cmd === 'allow' || cmd === 'deny') rules.push({ kind: cmd, name: arg })
    else if (cmd === 'include') rules.push({ kind: 'include', path: arg })
    else return { rules, problem: `${where}: unknown command ${JSON.stringify(cmd)} (allow BRIDGE, deny BRIDGE or include FILE)` }
  }
  return { rules }
}

/** As qemu-bridge-helper decides: some allow rule matches and no deny rule does. */
export function isBridgeAllowed(rules: readonly BridgeAclRule[], bridge: string): boolean {
  const matches = (kind: 'allow' | 'deny'): boolean => rules.some((r) => r.kind === kind && (r.name === 'all' || r.name === bridge))
  return matches('allow') && !matches('deny')
}

/** What keel reads on the host before it starts QEMU with tap or bridge networking. */
export interface HostNetFacts {
  /** keel's (and so QEMU's) effective uid and groups, and whether it holds CAP_NET_ADMIN. */
  uid: number
  /** The user's name, for the commands in hints (the uid when unknown). */
  user?: string
  gids: readonly number[]
  netAdmin: boolean
  /** The named tap device or bridge under /sys/class/net; undefined when there is none. */
  device?: {
    /** /sys/class/net/NAME/tun_flags: only tun and tap devices have it. */
    tunFlags?: number
    /** tun_flags' owner and group (-1: none). */
    owner?: number
    group?: number
    /** The carrier is on: for a tun or tap device, some program (another QEMU?) has it open. */
    carrier?: boolean
    isBridge: boolean
  }
  /**
   * Bridge networking: the helper's ACL with its includes read in place, or
   * why it cannot be used (missing, or a bad line: the helper then refuses
   * every bridge); undefined when keel could not read it.
   */
  bridgeAcl?: { file: string; missing: true } | { file: string; problem: string } | { file: string; rules: BridgeAclRule[] }
  /** Bridge networking without root: can the helper create a tap device (setuid root, or CAP_NET_ADMIN as a file capability)? undefined: unknown. */
  helperPrivileged?: boolean
  helperPath?: string
}

const IFF_TUN = 0x0001
const IFF_TAP = 0x0002
const IFF_MULTI_QUEUE = 0x0100
const CAP_NET_ADMIN = 12

/** Does a capability set, as written in /proc/PID/status (CapEff: hex), hold CAP_NET_ADMIN? */
export function hasNetAdmin(capEffHex: string): boolean {
  return /^[0-9a-f]+$/i.test(capEffHex.trim()) && ((BigInt(`0x${capEffHex.trim()}`) >> BigInt(CAP_NET_ADMIN)) & 1n) === 1n
}

/** The bridge QEMU joins when none is named. */
export const defaultBridge = 'br0'

/**
 * Checks that QEMU will be able to attach to the host network as asked,
 * from facts read beforehand, and throws a UserError naming the fix
 * otherwise: QEMU's own messages ("bridge helper failed", or nothing at all
 * when, as root, it quietly makes a new, unconnected tap device) say neither
 * what is wrong nor what to do.
 */
export function checkHostNetworking(n: Networking, f: HostNetFacts): void {
  const spec = n.mode === 'tap' ? `tap${n.ifname === undefined ? '' : `,${n.ifname}`}` : n.mode === 'bridge' ? `bridge${n.bridge === undefined ? '' : `,${n.bridge}`}` : n.mode
  const asRoot = 'run keel as root (or with CAP_NET_ADMIN)'
  const user = f.user ?? String(f.uid)
  if (n.mode === 'tap' && n.ifname === undefined) {
    if (!f.netAdmin) {
      throw new UserError(`--networking tap: without a device name QEMU makes a new tap device, which needs root (CAP_NET_ADMIN)`, {
        hint: `make a tap device for your user once, as root: ip tuntap add dev keeltap0 mode tap user ${user} && ip link set keeltap0 up; then --networking tap,keeltap0`,
      })
    }
    return
  }
  if (n.mode === 'tap') {
    const name = n.ifname!
    const d = f.device
    const make = `ip tuntap add dev ${name} mode tap user ${user} && ip link set ${name} up`
    if (d === undefined) {
      throw new UserError(`--networking ${spec}: there is no network device ${name}`, {
        hint: `make it first, as root: ${make}; then give it an address or add it to a bridge (docs/run.md, "Networking")`,
      })
    }
    if (d.tunFlags === undefined) {
      throw new UserError(`--networking ${spec}: ${name} is not a tap device${d.isBridge ? ' but a bridge' : ''}`, {
        hint: d.isBridge ? `use --networking bridge,${name}` : `name a tap device, or make one, as root: ip tuntap add dev keeltap0 mode tap user ${user} && ip link set keeltap0 up`,
      })
    }
    if ((d.tunFlags & (IFF_TUN | IFF_TAP)) !== IFF_TAP) throw new UserError(`--networking ${spec}: ${name} is a tun device (layer 3), not a tap device`, { hint: `make it again as a tap device: ip tuntap del dev ${name} mode tun && ${make}` })
    if (d.carrier === true && (d.tunFlags & IFF_MULTI_QUEUE) === 0) {
      throw new UserError(`--networking ${spec}: ${name} is in use: another program (another QEMU?) has it open`, { hint: 'stop that program, or make another tap device for this machine' })
    }
    const ownerBars = d.owner !== undefined && d.owner !== -1 && d.owner !== f.uid
    const groupBars = d.group !== undefined && d.group !== -1 && !f.gids.includes(d.group)
    if ((ownerBars || groupBars) && !f.netAdmin) {
      throw new UserError(`--networking ${spec}: ${name} belongs to ${ownerBars ? `user ${d.owner}` : `group ${d.group}`}, and keel runs as user ${user} without CAP_NET_ADMIN`, {
        hint: `${asRoot}, or make the device yours: ip tuntap del dev ${name} mode tap && ${make}`,
      })
    }
    return
  }
  if (n.mode !== 'bridge') return
  const name = n.bridge ?? defaultBridge
  const make = `ip link add ${name} type bridge && ip link set ${name} up`
  if (f.device === undefined) throw new UserError(`--networking ${spec}: there is no bridge ${name}`, { hint: `make it first, as root: ${make} (and give it an address, or add the host's uplink to it)` })
  if (!f.device.isBridge) {
    throw new UserError(`--networking ${spec}: ${name} is not a bridge${f.device.tunFlags === undefined ? '' : ' but a tun or tap device'}`, {
      hint: f.device.tunFlags === undefined ? 'name a bridge, or make one, as root: ip link add keelbr0 type bridge && ip link set keelbr0 up' : `use --networking tap,${name}`,
    })
  }
  const acl = f.bridgeAcl
  if (acl !== undefined) {
    const allow = `add the line "allow ${name}" to ${acl.file}, as root: echo 'allow ${name}' >> ${acl.file}`
    if ('missing' in acl) throw new UserError(`--networking ${spec}: QEMU's bridge helper allows no bridge: ${acl.file} does not exist`, { hint: `create it with the line "allow ${name}", as root: mkdir -p ${acl.file.replace(/\/[^/]*$/, '')} && echo 'allow ${name}' >> ${acl.file}` })
    if ('problem' in acl) throw new UserError(`--networking ${spec}: QEMU's bridge helper cannot read ${acl.file}: ${acl.problem}`, { hint: `fix that line; ${acl.file} holds lines allow BRIDGE, deny BRIDGE or include FILE` })
    if (!isBridgeAllowed(acl.rules, name)) throw new UserError(`--networking ${spec}: ${acl.file} does not allow the bridge ${name} (QEMU's bridge helper would refuse it)`, { hint: allow })
  }
  if (!f.netAdmin && f.helperPrivileged === false) {
    throw new UserError(`--networking ${spec}: QEMU's bridge helper ${f.helperPath ?? 'qemu-bridge-helper'} cannot make a tap device for user ${user}: it is neither setuid root nor given CAP_NET_ADMIN`, {
      hint: `${asRoot}, or let the helper do it, as root: chmod u+s ${f.helperPath ?? '/usr/lib/qemu/qemu-bridge-helper'}`,
    })
  }
}
