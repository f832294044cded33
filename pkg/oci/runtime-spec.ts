// The part of the OCI runtime spec (config.json) that keel writes and its init reads.

export interface RuntimeSpec {
  ociVersion: string
  process: RuntimeProcess
  root: { path: string; readonly?: boolean }
  hostname?: string
  mounts: RuntimeMount[]
  linux: RuntimeLinux
  annotations?: Record<string, string>
}

export interface RuntimeProcess {
  terminal?: boolean
  user: { uid: number; gid: number; additionalGids?: number[] }
  args: string[]
  env?: string[]
  cwd: string
  capabilities?: {
    bounding?: string[]
    effective?: string[]
    inheritable?: string[]
    permitted?: string[]
    ambient?: string[]
  }
  rlimits?: Array<{ type: string; hard: number | bigint; soft: number | bigint }>
  noNewPrivileges?: boolean
  oomScoreAdj?: number
}

export interface RuntimeMount {
  destination: string
  type?: string
  source?: string
  options?: string[]
}

export interface RuntimeNamespace {
  type: 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup'
  path?: string
}

export interface RuntimeLinux {
  namespaces: RuntimeNamespace[]
  maskedPaths?: string[]
  readonlyPaths?: string[]
  resources?: Record<string, unknown>
  cgroupsPath?: string
  sysctl?: Record<string, string>
  rootfsPropagation?: string
  uidMappings?: Array<{ containerID: number; hostID: number; size: number }>
  gidMappings?: Array<{ containerID: number; hostID: number; size: number }>
  devices?: Array<Record<string, unknown>>
}
