// A writer for the "newc" cpio format (the one the kernel unpacks an initramfs
// from): a 110-byte ASCII header of 13 eight-digit hex fields, the name with a
// NUL, padding to 4 bytes, the data, padding to 4 bytes; "TRAILER!!!" ends it.
import type { Writable } from 'node:stream'

export const S_IFMT = 0o170000
export const S_IFREG = 0o100000
export const S_IFDIR = 0o040000
export const S_IFLNK = 0o120000
export const S_IFCHR = 0o020000
export const S_IFBLK = 0o060000
export const S_IFIFO = 0o010000

export interface CpioHeader {
  name: string
  ino: number
  /** File type bits | permission bits. */
  mode: number
  uid: number
  gid: number
  nlink: number
  mtime: number
  size: number
  devmajor?: number
  devminor?: number
  rdevmajor?: number
  rdevminor?: number
}

const maxField = 0xffffffff

function hex8(n: number, field: string, name: string): string {
  if (!Number.isInteger(n) || n < 0 || n > maxField) throw new Error(`cpio: ${field} ${n} of ${JSON.stringify(name)} does not fit the newc format`)
  return n.toString(16).padStart(8, '0')
}

export function encodeCpioHeader(h: CpioHeader): Buffer {
  const nameBytes = Buffer.from(`${h.name}\0`)
  const header =
    '070701' +
    hex8(h.ino, 'inode', h.name) +
    hex8(h.mode, 'mode', h.name) +
    hex8(h.uid, 'uid', h.name) +
    hex8(h.gid, 'gid', h.name) +
    hex8(h.nlink, 'nlink', h.name) +
    hex8(h.mtime, 'mtime', h.name) +
    hex8(h.size, 'size', h.name) +
    hex8(h.devmajor ?? 0, 'devmajor', h.name) +
    hex8(h.devminor ?? 0, 'devminor', h.name) +
    hex8(h.rdevmajor ?? 0, 'rdevmajor', h.name) +
    hex8(h.rdevminor ?? 0, 'rdevminor', h.name) +
    hex8(nameBytes.length, 'namesize', h.name) +
    '00000000'
  const head = Buffer.concat([Buffer.from(header, 'ascii'), nameBytes])
  return Buffer.concat([head, Buffer.alloc(pad4(head.length))])
}

export function pad4(n: number): number {
  return (4 - (n % 4)) % 4
}

/**
 * Writes cpio entries to a stream, respecting backpressure. Small pieces
 * (headers, padding, small files) are gathered into writes of at least
 * COALESCE_BYTES: a compressing stream does a thread-pool round trip per
 * write. finish() writes the trailer and the rest.
 */
export class CpioWriter {
  private readonly out: Writable
  private offset = 0
  private pending: Buffer[] = []
  private pendingBytes = 0
  static readonly COALESCE_BYTES = 256 * 1024

  constructor(out: Writable) {
    this.out = out
  }

  /** Bytes of archive written so far (the trailer included once finish() ran). */
  get size(): number {
    return this.offset
  }

  async entry(h: CpioHeader, data?: Buffer | AsyncIterable<Buffer>): Promise<void> {
    await this.write(encodeCpioHeader(h))
    let written = 0
    if (data !== undefined) {
      if (Buffer.isBuffer(data)) {
        await this.write(data)
        written = data.length
      } else {
        for await (const chunk of data) {
          written += chunk.length
          await this.write(chunk)
        }
      }
    }
    if (written !== h.size) throw new Error(`cpio: ${JSON.stringify(h.name)} has ${written} bytes of data but its header says ${h.size}`)
    const padding = pad4(this.offset)
    if (padding) await this.write(Buffer.alloc(padding))
  }

  async finish(): Promise<void> {
    await this.entry({ name: 'TRAILER!!!', ino: 0, mode: 0, uid: 0, gid: 0, nlink: 1, mtime: 0, size: 0 })
    await this.flush()
  }

  private write(chunk: Buffer): Promise<void> {
    this.offset += chunk.length
    this.pending.push(chunk)
    this.pendingBytes += chunk.length
    return this.pendingBytes >= CpioWriter.COALESCE_BYTES ? this.flush() : Promise.resolve()
  }

  private flush(): Promise<void> {
    if (this.pendingBytes === 0) return Promise.resolve()
    const chunk = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes)
    this.pending = []
    this.pendingBytes = 0
    if (this.out.write(chunk)) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const onDrain = (): void => { this.out.off('error', onError); resolve() }
      const onError = (err: Error): void => { this.out.off('drain', onDrain); reject(err) }
      this.out.once('drain', onDrain)
      this.out.once('error', onError)
    })
  }
}
