// Checks of the values inside per-image fields that a JSON Schema cannot
// express. Each returns a message, or undefined when the value is fine; both
// `keel validate` (which collects) and config generation (which throws) use them.

/** Every Linux capability, in the kernel's numbering order. */
export const allCapabilities = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER',
  'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
] as const

/** "net_admin", "NET_ADMIN" and "CAP_NET_ADMIN" all name CAP_NET_ADMIN. */
export function canonicalCapability(raw: string): string {
  const up = raw.trim().toUpperCase()
  return up.startsWith('CAP_') ? up : `CAP_${up}`
}

export function checkCapabilities(list: readonly string[]): string | undefined {
  if (list.length === 1 && ['all', 'none'].includes(list[0]!.toLowerCase())) return undefined
  for (const c of list) {
    if (['all', 'none'].includes(c.toLowerCase())) return `"${c}" must be the only entry of the list`
    if (!(allCapabilities as readonly string[]).includes(canonicalCapability(c))) return `unknown capability ${JSON.stringify(c)}`
  }
  return undefined
}

function checkDestination(dest: string): string | undefined {
  if (!dest.startsWith('/')) return `destination ${JSON.stringify(dest)} must be an absolute path`
  if (dest.split('/').includes('..')) return `destination ${JSON.stringify(dest)} must not contain ".."`
  return undefined
}

/** "source:destination[:options]" */
export function checkBind(bind: string): string | undefined {
  const parts = bind.split(':')
  if (parts.length < 2) return `bind ${JSON.stringify(bind)} needs "source:destination[:options]"`
  if (parts.length > 3) return `bind ${JSON.stringify(bind)} has too many ":"`
  if (parts[0] === '') return `bind ${JSON.stringify(bind)} has no source`
  return checkDestination(parts[1]!)
}

/** "destination[:options]" */
export function checkTmpfs(tmpfs: string): string | undefined {
  const parts = tmpfs.split(':')
  if (parts.length > 2) return `tmpfs ${JSON.stringify(tmpfs)} has too many ":"`
  return checkDestination(parts[0]!)
}

export const rlimitNames = ['CPU', 'FSIZE', 'DATA', 'STACK', 'CORE', 'RSS', 'NPROC', 'NOFILE', 'MEMLOCK', 'AS', 'LOCKS', 'SIGPENDING', 'MSGQUEUE', 'NICE', 'RTPRIO', 'RTTIME'].map((n) => `RLIMIT_${n}`)

/** RLIM_INFINITY: 2^64-1, beyond a JS number's precision, so a bigint. */
export const rlimitUnlimited = 18446744073709551615n

export interface Rlimit {
  type: string
  soft: number | bigint
  hard: number | bigint
}

/** Parses "name,soft,hard"; returns the limit or a message. */
export function parseRlimit(raw: string): Rlimit | string {
  const parts = raw.split(',')
  if (parts.length !== 3) return `rlimit ${JSON.stringify(raw)} must be "name,soft,hard"`
  let type = parts[0]!.trim().toUpperCase()
  if (!type.startsWith('RLIMIT_')) type = `RLIMIT_${type}`
  if (!rlimitNames.includes(type)) return `unknown rlimit ${JSON.stringify(parts[0]!.trim())}`
  const value = (s: string): number | bigint | string => {
    const t = s.trim().toLowerCase()
    if (t === 'unlimited') return rlimitUnlimited
    if (!/^[0-9]+$/.test(t)) return `rlimit ${JSON.stringify(raw)}: ${JSON.stringify(s.trim())} is not a number`
    const n = BigInt(t)
    if (n > rlimitUnlimited) return `rlimit ${JSON.stringify(raw)}: ${t} is larger than 2^64-1`
    return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n
  }
  const soft = value(parts[1]!)
  const hard = value(parts[2]!)
  if (typeof soft === 'string') return soft
  if (typeof hard === 'string') return hard
  if (BigInt(soft) > BigInt(hard)) return `rlimit ${JSON.stringify(raw)}: soft limit above hard limit`
  return { type, soft, hard }
}

const namespaceWords = ['host', 'root', 'new']

/** net, pid, ipc, uts, userns: a keyword or an absolute path. */
export function checkNamespace(field: string, value: string): string | undefined {
  if (value === '' || namespaceWords.includes(value) || (field === 'net' && value === 'none')) return undefined
  if (value.startsWith('/')) return undefined
  const words = field === 'net' ? [...namespaceWords, 'none'] : namespaceWords
  return `must be ${words.map((w) => `"${w}"`).join(', ')} or the absolute path of a namespace to join`
}

const propagations = ['private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared', 'unbindable', 'runbindable']

export function checkPropagation(value: string): string | undefined {
  return propagations.includes(value) ? undefined : `must be one of: ${propagations.join(', ')}`
}

/** A user or group: a number, a numeric string, or the name of a container. */
export function checkId(value: unknown, names: ReadonlySet<string>): string | undefined {
  if (typeof value === 'number') return undefined
  if (typeof value === 'string' && (/^[0-9]+$/.test(value) || names.has(value))) return undefined
  return `${JSON.stringify(value)} is neither a number nor the name of a container in this manifest`
}
