// A tar reader for layers keel does not trust: ustar, GNU (long names, base-256
// numbers) and PAX headers, with every size bounded before anything is
// buffered. It yields each entry's header and a body to read or skip;
// the next entry starts only when the body has been consumed.
import { UserError } from '../errors/index.js'

export type TarType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'directory' | 'fifo'

export interface TarHeader {
  /** Raw name as the archive gives it (PAX path or GNU long name applied). */
  name: string
  type: TarType
  mode: number
  uid: number
  gid: number
  size: number
  /** Seconds since the epoch (fractions dropped). */
  mtime: number
  linkname: string
  devmajor: number
  devminor: number
  /** Extended attributes from PAX SCHILY.xattr.* records. */
  xattrs: Record<string, string> | undefined
}

export interface TarEntry {
  header: TarHeader
  /** The entry's bytes, chunk by chunk (empty for non-files). Read it whole, or call skip(). */
  body(): AsyncGenerator<Buffer>
  skip(): Promise<void>
}

export interface TarLimits {
  /** Longest name or link target, in bytes. */
  maxNameBytes: number
  /** Largest PAX extended header or GNU long-name record. */
  maxPaxBytes: number
  /** Largest single entry. */
  maxEntryBytes: number
}

export const defaultTarLimits: TarLimits = {
  maxNameBytes: 4096,
  maxPaxBytes: 1024 * 1024,
  maxEntryBytes: 64 * 1024 * 1024 * 1024,
}

const block = 512

/** Buffered reads over a stream of chunks. */
class ByteReader {
  private chunks: Buffer[] = []
  private have = 0
  private done = false
  private readonly it: AsyncIterator<Buffer>

  constructor(source: AsyncIterable<Buffer | Uint8Array>) {
    this.it = (source as AsyncIterable<Buffer>)[Symbol.asyncIterator]()
  }

  private async fill(n: number): Promise<boolean> {
    while (this.have < n && !this.done) {
      const r = await this.it.next()
      if (r.done) {
        this.done = true
        break
      }
      const c = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value)
      if (c.length === 0) continue
      this.chunks.push(c)
      this.have += c.length
    }
    return this.have >= n
  }

  /** Exactly n bytes, or undefined at a clean end of input (nothing left). */
  async read(n: number): Promise<Buffer | undefined> {
    if (!(await this.fill(n))) {
      if (this.have === 0) return undefined
      throw new UserError(`truncated archive: wanted ${n} more bytes, ${this.have} left`)
    }
    const out = Buffer.allocUnsafe(n)
    let off = 0
    while (off < n) {
      const c = this.chunks[0]!
      const take = Math.min(c.length, n - off)
      c.copy(out, off, 0, take)
      off += take
      if (take === c.length) this.chunks.shift()
      else this.chunks[0] = c.subarray(take)
    }
    this.have -= n
    return out
  }

  /** Up to n bytes as they come: at most one chunk per call. */
  async take(n: number): Promise<Buffer> {
    if (this.have === 0 && !(await this.fill(1))) throw new UserError(`truncated archive: wanted ${n} more bytes`)
    const c = this.chunks[0]!
    if (c.length <= n) {
      this.chunks.shift()
      this.have -= c.length
      return c
    }
    this.chunks[0] = c.subarray(n)
    this.have -= n
    return c.subarray(0, n)
  }

  async skip(n: number): Promise<void> {
    let left = n
    while (left > 0) left -= (await this.take(left)).length
  }

  /** Reads and drops the rest of the input (tar's trailing padding). */
  async drain(): Promise<void> {
    this.chunks = []
    this.have = 0
    while (!this.done) {
      const r = await this.it.next()
      if (r.done) this.done = true
    }
  }
}

function parseNumber(field: Buffer, what: string, name: string): number {
  if (field.length > 0 && (field[0]! & 0x80) !== 0) {
    // GNU base-256: big-endian two's complement with the top bit as a flag.
    if ((field[0]! & 0x40) !== 0) throw new UserError(`entry ${JSON.stringify(name)}: negative ${what}`)
    let v = BigInt(field[0]! & 0x3f)
    for (let i = 1; i < field.length; i++) v = (v << 8n) | BigInt(field[i]!)
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new UserError(`entry ${JSON.stringify(name)}: ${what} too large`)
    return Number(v)
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim()
  if (text === '') return 0
  if (!/^[0-7]+$/.test(text)) throw new UserError(`entry ${JSON.stringify(name)}: ${what} ${JSON.stringify(text)} is not an octal number`)
  const v = Number.parseInt(text, 8)
  if (!Number.isSafeInteger(v)) throw new UserError(`entry ${JSON.stringify(name)}: ${what} too large`)
  return v
}

function cString(field: Buffer): string {
  const end = field.indexOf(0)
  return (end < 0 ? field : field.subarray(0, end)).toString('utf8')
}

function checksumOk(h: Buffer): boolean {
  const stored = h.subarray(148, 156).toString('latin1').replace(/\0.*$/s, '').trim()
  if (!/^[0-7]+$/.test(stored)) return false
  let sum = 0
  for (let i = 0; i < block; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!
  return sum === Number.parseInt(stored, 8)
}

interface Pax { [key: string]: string }

function parsePax(data: Buffer, name: string): Pax {
  const out: Pax = {}
  let off = 0
  while (off < data.length) {
    const space = data.indexOf(0x20, off)
    if (space < 0) throw new UserError(`entry ${JSON.stringify(name)}: malformed PAX record`)
    const len = Number(data.subarray(off, space).toString('latin1'))
    if (!Number.isInteger(len) || len <= 0 || off + len > data.length) throw new UserError(`entry ${JSON.stringify(name)}: malformed PAX record length`)
    const record = data.subarray(space + 1, off + len - 1).toString('utf8')
    const eq = record.indexOf('=')
    if (eq < 0) throw new UserError(`entry ${JSON.stringify(name)}: malformed PAX record`)
    out[record.slice(0, eq)] = record.slice(eq + 1)
    off += len
  }
  return out
}

const typeOf: Record<string, TarType> = {
  '0': 'file', '\0': 'file', '7': 'file', '1': 'link', '2': 'symlink', '3': 'char', '4': 'block', '5': 'directory', '6': 'fifo',
}

/** Reads a tar archive entry by entry. */
export async function* readTar(source: AsyncIterable<Buffer | Uint8Array>, limits: TarLimits = defaultTarLimits): AsyncGenerator<TarEntry> {
  const r = new ByteReader(source)
  let pax: Pax = {}
  let global: Pax = {}
  let longName: string | undefined
  let longLink: string | undefined
  for (;;) {
    const h = await r.read(block)
    if (h === undefined) return
    if (h.every((b) => b === 0)) {
      await r.drain()
      return
    }
    const rawName = cString(h.subarray(0, 100))
    if (!checksumOk(h)) throw new UserError(`entry ${JSON.stringify(rawName)}: bad header checksum (not a tar archive, or corrupted)`)
    const flag = String.fromCharCode(h[156]!)
    const size = parseNumber(h.subarray(124, 136), 'size', rawName)
    const padded = Math.ceil(size / block) * block
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      if (size > limits.maxPaxBytes) throw new UserError(`entry ${JSON.stringify(rawName)}: ${flag === 'x' || flag === 'g' ? 'PAX header' : 'GNU long name'} of ${size} bytes exceeds the ${limits.maxPaxBytes}-byte limit`)
      const data = (await r.read(padded)) ?? Buffer.alloc(0)
      const body = data.subarray(0, size)
      if (flag === 'x') pax = { ...pax, ...parsePax(body, rawName) }
      else if (flag === 'g') global = { ...global, ...parsePax(body, rawName) }
      else if (flag === 'L') longName = cString(body)
      else longLink = cString(body)
      continue
    }
    const type = typeOf[flag]
    if (type === undefined) throw new UserError(`entry ${JSON.stringify(rawName)}: unsupported tar entry type ${JSON.stringify(flag)}`)
    const fields = { ...global, ...pax }
    const magic = h.subarray(257, 263).toString('latin1')
    const prefix = magic === 'ustar\0' ? cString(h.subarray(345, 500)) : ''
    let name = fields['path'] ?? longName ?? (prefix ? `${prefix}/${rawName}` : rawName)
    const linkname = fields['linkpath'] ?? longLink ?? cString(h.subarray(157, 257))
    if (Buffer.byteLength(name) > limits.maxNameBytes) throw new UserError(`entry ${JSON.stringify(name.slice(0, 80))}…: name longer than ${limits.maxNameBytes} bytes`)
    if (Buffer.byteLength(linkname) > limits.maxNameBytes) throw new UserError(`entry ${JSON.stringify(name)}: link target longer than ${limits.maxNameBytes} bytes`)
    if (name.includes('\0')) throw new UserError(`entry ${JSON.stringify(name)}: NUL in name`)
    if (type === 'directory' && name.endsWith('/')) name = name.replace(/\/+$/, '') || '/'
    const numberFrom = (key: string, fallback: number): number => {
      const v = fields[key]
      if (v === undefined) return fallback
      const n = Number(v)
      if (!Number.isFinite(n) || n < 0) throw new UserError(`entry ${JSON.stringify(name)}: PAX ${key} ${JSON.stringify(v)} is not a number`)
      return Math.floor(n)
    }
    const entrySize = type === 'file' ? numberFrom('size', size) : 0
    if (entrySize > limits.maxEntryBytes) throw new UserError(`entry ${JSON.stringify(name)}: ${entrySize} bytes exceeds the ${limits.maxEntryBytes}-byte limit`)
    let xattrs: Record<string, string> | undefined
    for (const [k, v] of Object.entries(fields)) {
      if (k.startsWith('SCHILY.xattr.')) (xattrs ??= {})[k.slice('SCHILY.xattr.'.length)] = v
    }
    const header: TarHeader = {
      name,
      type,
      mode: parseNumber(h.subarray(100, 108), 'mode', name) & 0o7777,
      uid: numberFrom('uid', parseNumber(h.subarray(108, 116), 'uid', name)),
      gid: numberFrom('gid', parseNumber(h.subarray(116, 124), 'gid', name)),
      size: entrySize,
      mtime: numberFrom('mtime', parseNumber(h.subarray(136, 148), 'mtime', name)),
      linkname,
      devmajor: parseNumber(h.subarray(329, 337), 'devmajor', name),
      devminor: parseNumber(h.subarray(337, 345), 'devminor', name),
      xattrs,
    }
    pax = {}
    longName = undefined
    longLink = undefined
    // Hardlinks and the like may declare a size; their "body" is skipped.
    const bodyBytes = type === 'file' ? entrySize : size
    const bodyPadded = Math.ceil(bodyBytes / block) * block
    let consumed = false
    let reading = false
    const entry: TarEntry = {
      header,
      body: async function* () {
        if (consumed || reading) throw new Error('tar entry body read twice')
        reading = true
        let left = bodyBytes
        while (left > 0) {
          const c = await r.take(left)
          left -= c.length
          yield c
        }
        await r.skip(bodyPadded - bodyBytes)
        consumed = true
      },
      skip: async () => {
        if (consumed) return
        if (reading) throw new Error('tar entry body partly read')
        await r.skip(bodyPadded)
        consumed = true
      },
    }
    yield entry
    if (!consumed) await entry.skip()
  }
}
