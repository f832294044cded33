// The part of the OCI runtime spec (config.json) that keel writes and its init
// reads: the fields LinuxKit's ConfigToOCI fills in, named as their JSON keys.
// The Go types behind them (field order, omitempty, pointers) are described in
// pkg/assemble/oci-config.ts, which writes them out as Go does.
//
// An optional field that is absent is Go's zero value: nil for pointers,
// slices and maps, "" / false / 0 otherwise. Where Go has a pointer (marked
// "pointer" below), a present value is written even when it is empty or zero.

export interface RuntimeSpec {
  ociVersion: string
  process: RuntimeProcess
  root: { path: string; readonly?: boolean }
  hostname?: string
  mounts: RuntimeMount[]
  annotations?: Record<string, string>
  linux: RuntimeLinux
}

export interface RuntimeProcess {
  terminal?: boolean
  user: { uid: number; gid: number; additionalGids?: number[] }
  args: string[]
  env?: string[]
  cwd: string
  /** Pointer: `{}` when every list is empty. */
  capabilities?: LinuxCapabilities
  rlimits?: POSIXRlimit[]
  noNewPrivileges?: boolean
  /** Pointer: 0 is written when present. */
  oomScoreAdj?: number
}

export interface LinuxCapabilities {
  bounding?: string[]
  effective?: string[]
  inheritable?: string[]
  permitted?: string[]
  ambient?: string[]
}

/** An rlimit; 2^64-1 (unlimited) does not fit a JS number, so it is a bigint. */
export interface POSIXRlimit {
  type: string
  hard: number | bigint
  soft: number | bigint
}

export interface RuntimeMount {
  destination: string
  type?: string
  source?: string
  options?: string[]
  uidMappings?: LinuxIDMapping[]
  gidMappings?: LinuxIDMapping[]
}

export interface LinuxIDMapping {
  containerID: number
  hostID: number
  size: number
}

export interface RuntimeNamespace {
  type: 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup'
  path?: string
}

export interface RuntimeLinux {
  uidMappings?: LinuxIDMapping[]
  gidMappings?: LinuxIDMapping[]
  sysctl?: Record<string, string>
  /** Pointer: LinuxKit always sets it, so `{}` when empty. */
  resources?: LinuxResources
  cgroupsPath?: string
  namespaces: RuntimeNamespace[]
  devices?: LinuxDevice[]
  rootfsPropagation?: string
  maskedPaths?: string[]
  readonlyPaths?: string[]
}

/** A device node made in the container. */
export interface LinuxDevice {
  path: string
  type: string
  major: number
  minor: number
  /** Pointer: the permission bits, written as a decimal number. */
  fileMode?: number
  uid?: number
  gid?: number
}

/** A device cgroup rule. major and minor are pointers: absent means all. */
export interface LinuxDeviceCgroup {
  allow: boolean
  type?: string
  major?: number
  minor?: number
  access?: string
}

/** cgroup limits (linux.resources). Every number inside memory, cpu, network and rdma is a pointer. */
export interface LinuxResources {
  devices?: LinuxDeviceCgroup[]
  memory?: {
    limit?: number | bigint
    reservation?: number | bigint
    swap?: number | bigint
    kernel?: number | bigint
    kernelTCP?: number | bigint
    swappiness?: number | bigint
    disableOOMKiller?: boolean
    useHierarchy?: boolean
    checkBeforeUpdate?: boolean
  }
  cpu?: {
    shares?: number | bigint
    quota?: number | bigint
    burst?: number | bigint
    period?: number | bigint
    realtimeRuntime?: number | bigint
    realtimePeriod?: number | bigint
    cpus?: string
    mems?: string
    idle?: number | bigint
  }
  pids?: { limit: number | bigint }
  blockIO?: {
    weight?: number
    leafWeight?: number
    weightDevice?: Array<{ major: number; minor: number; weight?: number; leafWeight?: number }>
    throttleReadBpsDevice?: LinuxThrottleDevice[]
    throttleWriteBpsDevice?: LinuxThrottleDevice[]
    throttleReadIOPSDevice?: LinuxThrottleDevice[]
    throttleWriteIOPSDevice?: LinuxThrottleDevice[]
  }
  hugepageLimits?: Array<{ pageSize: string; limit: number | bigint }>
  network?: { classID?: number; priorities?: Array<{ name: string; priority: number }> }
  rdma?: Record<string, { hcaHandles?: number; hcaObjects?: number }>
  unified?: Record<string, string>
}

export interface LinuxThrottleDevice {
  major: number
  minor: number
  rate: number | bigint
}
