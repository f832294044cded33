// The typed form of a LinuxKit-compatible manifest.

/** Where a value came from, for error messages: file and YAML path. */
export interface Origin {
  file: string
  line: number
  col: number
  path: string
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

/**
 * One onboot, onshutdown or service entry. Only `name` and `image` are
 * required; the other fields follow LinuxKit's per-image schema and are kept
 * as the manifest gives them (camelCase keys, "binds.add" and all).
 */
export interface ImageEntry {
  name: string
  image: string
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
  format?: string
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
   * manifest: "kernel", "init[0]", "services[2]" and so on.
   */
  origins: Map<string, Origin>
}

export type Section = 'onboot' | 'onshutdown' | 'services'
