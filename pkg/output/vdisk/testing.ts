// Helpers for the vdisk tests: raw images with recognisable data, qemu-img.
import { execFileSync, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { closeSync, createReadStream, ftruncateSync, openSync, writeSync } from 'node:fs'
import { join } from 'node:path'

export const MiB = 1024 * 1024

/** Deterministic pseudo-random bytes (SHA-256 in counter mode). */
export function pseudoRandom(n: number, label: string): Buffer {
  const out = Buffer.alloc(n)
  for (let i = 0, k = 0; i < n; k++) {
    const h = createHash('sha256').update(`${label}/${k}`).digest()
    i += h.copy(out, i)
  }
  return out
}

/** Where makeRaw puts data; everything else is zero. */
export function rawPieces(size: number): Array<[number, Buffer]> {
  const pieces: Array<[number, Buffer]> = [
    [0, pseudoRandom(512, 'first sector')],
    [MiB - 100, pseudoRandom(200, 'across 1 MiB')],
    [2 * MiB - 7, pseudoRandom(20, 'across 2 MiB')],
    [10 * MiB, pseudoRandom(3 * MiB + 12345, 'a run of blocks')],
    [32 * MiB - 3, pseudoRandom(9, 'across 32 MiB')],
    [40 * MiB + 65535, Buffer.from([1])],
    [size - 512, pseudoRandom(512, 'last sector')],
  ]
  return pieces.filter(([at, b]) => at + b.length <= size)
}

/** The indices of the blocks of `blockSize` bytes that makeRaw puts data in. */
export function touchedBlocks(size: number, blockSize: number): number[] {
  const set = new Set<number>()
  for (const [at, b] of rawPieces(size)) {
    for (let i = Math.floor(at / blockSize); i <= Math.floor((at + b.length - 1) / blockSize); i++) set.add(i)
  }
  return [...set].sort((a, b) => a - b)
}

/** A sparse raw image of `size` bytes with the rawPieces data in it. */
export function makeRaw(dir: string, size: number, name = 'disk.raw'): string {
  const path = join(dir, name)
  const fd = openSync(path, 'w')
  ftruncateSync(fd, size)
  for (const [at, b] of rawPieces(size)) writeSync(fd, b, 0, b.length, at)
  closeSync(fd)
  return path
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256')
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * MiB })) h.update(chunk as Buffer)
  return h.digest('hex')
}

/** SHA-256 of the file at `path` followed by zeros up to `size` bytes. */
export async function sha256Padded(path: string, size: number): Promise<string> {
  const h = createHash('sha256')
  let n = 0
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * MiB })) {
    h.update(chunk as Buffer)
    n += (chunk as Buffer).length
  }
  if (n > size) throw new Error(`${path} is larger than ${size}`)
  const zero = Buffer.alloc(MiB)
  while (n < size) {
    const k = Math.min(zero.length, size - n)
    h.update(zero.subarray(0, k))
    n += k
  }
  return h.digest('hex')
}

export interface QemuInfo {
  format: string
  'virtual-size': number
  'actual-size'?: number
  'format-specific'?: { type: string; data: Record<string, unknown> }
}

export function qemuInfo(path: string, format?: string): QemuInfo {
  const args = ['info', '--output=json', ...(format ? ['-f', format] : []), path]
  return JSON.parse(execFileSync('qemu-img', args, { encoding: 'utf8' })) as QemuInfo
}

/** The virtual size qemu's vpc driver reports when told to take it from the CHS geometry or from the footer's current size. */
export function qemuVpcSize(path: string, from: 'chs' | 'current_size'): number {
  const opts = `driver=vpc,force_size_calc=${from},file.driver=file,file.filename=${path.replace(/,/g, ',,')}`
  const info = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', '--image-opts', opts], { encoding: 'utf8' })) as QemuInfo
  return info['virtual-size']
}

export function qemuCheck(path: string, format: string): { status: number | null; out: string } {
  const r = spawnSync('qemu-img', ['check', '-f', format, path], { encoding: 'utf8' })
  return { status: r.status, out: `${r.stdout}${r.stderr}` }
}

/** Converts back to raw with qemu-img and returns the raw file's path. */
export function qemuToRaw(path: string, format: string, dest: string): string {
  execFileSync('qemu-img', ['convert', '-f', format, '-O', 'raw', path, dest])
  return dest
}

/** `qemu-img compare` of a raw image and a converted one: 0 when the content is identical (the longer one's tail zeros). */
export function qemuCompare(raw: string, path: string, format: string): { status: number | null; out: string } {
  const r = spawnSync('qemu-img', ['compare', '-f', 'raw', '-F', format, raw, path], { encoding: 'utf8' })
  return { status: r.status, out: `${r.stdout}${r.stderr}` }
}

/** Offsets at which two equal-length buffers differ, merged into [start, end) ranges. */
export function diffRanges(a: Buffer, b: Buffer): Array<[number, number]> {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`)
  const ranges: Array<[number, number]> = []
  const step = 64 * 1024
  for (let at = 0; at < a.length; at += step) {
    const end = Math.min(a.length, at + step)
    if (a.subarray(at, end).equals(b.subarray(at, end))) continue
    for (let i = at; i < end; i++) {
      if (a[i] === b[i]) continue
      const last = ranges[ranges.length - 1]
      if (last && last[1] === i) last[1] = i + 1
      else ranges.push([i, i + 1])
    }
  }
  return ranges
}
