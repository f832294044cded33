// Types of the OCI image spec documents keel reads and writes.
import type { Digest } from './digest.js'

export interface Descriptor {
  mediaType: string
  digest: Digest
  size: number
  annotations?: Record<string, string>
  platform?: Platform
  urls?: string[]
}

export interface Platform {
  architecture: string
  os: string
  variant?: string
  'os.version'?: string
  'os.features'?: string[]
}

export interface ImageManifest {
  schemaVersion: 2
  mediaType?: string
  config: Descriptor
  layers: Descriptor[]
  annotations?: Record<string, string>
}

export interface ImageIndex {
  schemaVersion: 2
  mediaType?: string
  manifests: Descriptor[]
  annotations?: Record<string, string>
}

/** The container part of an image config (what `docker inspect` calls Config). */
export interface ContainerConfig {
  User?: string
  Env?: string[]
  Entrypoint?: string[] | null
  Cmd?: string[] | null
  WorkingDir?: string
  Labels?: Record<string, string> | null
  Volumes?: Record<string, object> | null
  ExposedPorts?: Record<string, object> | null
  StopSignal?: string
}

export interface ImageConfig {
  created?: string
  architecture: string
  os: string
  config?: ContainerConfig
  rootfs: { type: 'layers'; diff_ids: Digest[] }
  history?: Array<{ created?: string; created_by?: string; comment?: string; empty_layer?: boolean }>
}

/** The label LinuxKit images carry with their default runtime settings. */
export const mobyConfigLabel = 'org.mobyproject.config'

/** The annotation an OCI image layout index uses to name an image. */
export const refNameAnnotation = 'org.opencontainers.image.ref.name'
