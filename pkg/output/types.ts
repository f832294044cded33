import type { Readable } from 'node:stream'

export interface OutputContext {
  /** Folder the files go into. */
  dir: string
  /** Base name: files are NAME-kernel, NAME-initrd.img, ... */
  name: string
  /** Seconds since the epoch stamped into every archive header. */
  mtime: number
}

/** Reads the assembled tar stream and writes one output format; returns the paths written. */
export type OutputWriter = (tar: Readable, ctx: OutputContext) => Promise<string[]>
