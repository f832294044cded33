import type { Readable } from 'node:stream'
import type { ToolRunner } from '../exec/index.js'

/** kernel, initrd (a gzip'd newc cpio, microcode first) and command line, as files. */
export interface BootFiles {
  kernel: string
  initrd: string
  /** The command line text. */
  cmdline: string
}

export interface OutputContext {
  /** Folder the files go into. */
  dir: string
  /** Base name: files are NAME-kernel, NAME-initrd.img, ... */
  name: string
  /** Seconds since the epoch stamped into every archive header (SOURCE_DATE_EPOCH). */
  mtime: number
  /** A fresh tar stream of the assembled root file system. */
  tar(): Readable
  /** The boot files, made once per build from the tar stream and shared by the formats that need them. */
  bootFiles(): Promise<BootFiles>
  /** A new empty scratch folder, removed with the build's. */
  scratch(): Promise<string>
  runner: ToolRunner
  /** Whole disk size in bytes (--size), for disk formats. */
  sizeBytes?: number
}

/** Writes one output format; returns the paths written. */
export type OutputWriter = (ctx: OutputContext) => Promise<string[]>
