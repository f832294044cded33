// The typed form of a LinuxKit-compatible manifest.
import type { YamlPath, YamlSource } from './yaml.js'

/** Where a value came from, for error messages: file, position and YAML path. */
export interface Origin {
  file: string
  line: number
  col: number
  path: string
}

/** Where an entry sits in its file, so later checks can point into it. */
export interface Place {
  src: YamlSource
  path: YamlPath
}

export interface KernelSpec {
  image: string
  cmdline: string
  /** Name of the kernel binary inside the image (default "kernel"). */
  binary?: string
  /** Name of the modules tarball inside the image (default "kernel.tar"; "none" for none). */
  tar?: string
  ucode?: string
}

/** keel's own additions to an entry (the `keel:` key). */
export interface KeelEntryOptions {
  restart?: 'always' | 'on-failure' | 'never'
  after?: string[]
}

/**
 * One onboot, onshutdown or service entry. Only `name` and `image` are
 * required; the other fields follow LinuxKit's per-image schema and are kept
 * as the manifest gives them (camelCase keys, "binds.add" and all).
 */
export interface ImageEntry {
  name: string
  image: string
  keel?: KeelEntryOptions
  [field: string]: unknown
}

export interface FileEntry {
  path: string
  directory?: boolean
  symlink?: string
  contents?: string
  source?: string
  metadata?: 'yaml' | 'json'
  optional?: boolean
  mode?: string
  uid?: number | string
  gid?: number | string
}

export interface VolumeEntry {
  name: string
  image?: string
  readonly?: boolean
  format?: 'oci' | 'filesystem'
  platforms?: string[]
}

export interface Manifest {
  kernel: KernelSpec | undefined
  init: string[]
  onboot: ImageEntry[]
  onshutdown: ImageEntry[]
  services: ImageEntry[]
  files: FileEntry[]
  volumes: VolumeEntry[]
  /**
   * Where each image string came from, keyed by its place in the merged
   * manifest: "kernel", "init[0]", "services[2]", "volumes[0]" and so on.
   */
  origins: Map<string, Origin>
  /** Where each entry is, keyed like `origins` ("services[2]", "files[0]", ...). */
  places: Map<string, Place>
  /** Things accepted but ignored (trust:), for the CLI to print. */
  warnings: string[]
}

export type Section = 'onboot' | 'onshutdown' | 'services'
