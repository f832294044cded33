// The JSON Schema of a keel manifest: LinuxKit's manifest schema, field for
// field, plus keel's own additions under `keel:` in an entry. Every property
// has a description; docs/manifest.md is generated from them (see doc.ts),
// and a test keeps the two in step.
//
// Extra keywords (ignored by validation):
//   x-hint   what a value matching `pattern` looks like, for error messages
//   x-keel   marks a keel addition that LinuxKit does not have

type Schema = Record<string, unknown>

const str = (description: string, extra: Schema = {}): Schema => ({ type: 'string', description, ...extra })
const bool = (description: string): Schema => ({ type: 'boolean', description })
const int = (description: string): Schema => ({ type: 'integer', description })
const strings = (description: string): Schema => ({ type: 'array', items: { type: 'string' }, description })
const stringMap = (description: string): Schema => ({ type: 'object', additionalProperties: { type: 'string' }, description })
const obj = (description: string, properties: Record<string, Schema>, extra: Schema = {}): Schema =>
  ({ type: 'object', additionalProperties: false, description, properties, ...extra })
const list = (description: string, items: Schema): Schema => ({ type: 'array', description, items })
const idHint = 'a number (0 or more) or the name of a container in this manifest'
const id = (description: string): Schema => ({ anyOf: [{ type: 'integer', minimum: 0 }, { type: 'string', minLength: 1 }], 'x-hint': idHint, description })

const octalMode = { pattern: '^0?[0-7]{1,4}$', 'x-hint': 'an octal mode such as "0644"' }

const idMapping = obj('One range of IDs mapped into a user namespace.', {
  hostID: int('First ID outside the namespace.'),
  containerID: int('First ID inside the namespace.'),
  size: int('How many IDs.'),
})

const mount = obj('A mount, as in the OCI runtime spec.', {
  destination: str('Where it is mounted in the container (absolute path).'),
  type: str('File system type (bind, tmpfs, proc, ...); inferred from the source for proc, sysfs, devpts, mqueue and cgroup.'),
  source: str('What is mounted: a path for bind mounts, else a device or a name.'),
  options: strings('Mount options (ro, rbind, nosuid, mode=755, ...).'),
  uidmappings: list('ID-mapped mount: user IDs.', idMapping),
  gidmappings: list('ID-mapped mount: group IDs.', idMapping),
})

const device = obj('A device node made in the container.', {
  path: str('Path of the node in the container, or "all" to allow every device of `type` in the device cgroup.'),
  type: str('"c" (character), "b" (block) or "u"/"p".'),
  major: int('Major number.'),
  minor: int('Minor number.'),
  mode: str('Permissions, octal.', octalMode),
})

const deviceCgroup = obj('A device cgroup rule.', {
  allow: bool('Allow (true) or deny (false).'),
  type: str('"a", "c" or "b".'),
  major: int('Major number (all when missing).'),
  minor: int('Minor number (all when missing).'),
  access: str('Any of "r", "w", "m".'),
})

const throttleDevice = obj('A per-device throttle.', { major: int('Major number.'), minor: int('Minor number.'), rate: int('Limit.') })
const weightDevice = obj('A per-device weight.', {
  major: int('Major number.'), minor: int('Minor number.'), weight: int('Weight.'), leafWeight: int('Leaf weight.'),
})

const resources = obj('cgroup limits, as in the OCI runtime spec (linux.resources).', {
  devices: list('Device cgroup rules.', deviceCgroup),
  memory: obj('Memory limits (bytes).', {
    limit: int('Hard limit.'), reservation: int('Soft limit.'), swap: int('Memory plus swap limit.'),
    kernel: int('Kernel memory limit (cgroup v1 only).'), kernelTCP: int('Kernel TCP buffer limit (cgroup v1 only).'),
    swappiness: int('Swappiness, 0-100.'), disableOOMKiller: bool('Do not kill on out-of-memory.'),
  }),
  cpu: obj('CPU limits.', {
    shares: int('Relative weight.'), quota: int('Microseconds per period.'), period: int('Period in microseconds.'),
    realtimeRuntime: int('Real-time runtime in microseconds.'), realtimePeriod: int('Real-time period in microseconds.'),
    cpus: str('CPUs allowed, e.g. "0-1".'), mems: str('Memory nodes allowed.'),
  }),
  pids: obj('Process count limit.', { limit: int('Maximum number of processes.') }),
  blockio: obj('Block I/O limits.', {
    weight: int('Weight.'), leafWeight: int('Leaf weight.'),
    weightDevice: list('Per-device weights.', weightDevice),
    throttleReadBpsDevice: list('Read bytes per second, per device.', throttleDevice),
    throttleWriteBpsDevice: list('Write bytes per second, per device.', throttleDevice),
    throttleReadIOPSDevice: list('Read operations per second, per device.', throttleDevice),
    throttleWriteIOPSDevice: list('Write operations per second, per device.', throttleDevice),
  }),
  hugepageLimits: list('Huge page limits.', obj('A huge page limit.', { pageSize: int('Page size.'), limit: int('Limit in bytes.') })),
  network: obj('Network class and priorities.', {
    classID: int('net_cls class ID.'),
    priorities: list('Interface priorities.', obj('An interface priority.', { name: str('Interface.'), priority: int('Priority.') })),
  }),
})

const runtime = obj("Set-up keel's init does on the host before starting the container (LinuxKit's runtime section).", {
  cgroups: strings('cgroups to create.'),
  mounts: list('Mounts to make on the host first.', mount),
  mkdir: strings('Folders to create on the host first.'),
  interfaces: list('Network interfaces to move or create in the container\'s network namespace.', obj('A network interface.', {
    name: str('Name of the interface in the container.'),
    add: str('Kind of interface to create ("veth").'),
    peer: str('Name of the veth peer left outside.'),
    createInRoot: bool('Create it in the root namespace and move it in.'),
  })),
  bindNS: obj("Bind-mount the container's namespaces at these paths, so others can join them.", {
    cgroup: str('Path for the cgroup namespace.'), ipc: str('Path for the IPC namespace.'), mnt: str('Path for the mount namespace.'),
    net: str('Path for the network namespace.'), pid: str('Path for the PID namespace.'), user: str('Path for the user namespace.'),
    uts: str('Path for the UTS namespace.'),
  }),
  namespace: str('containerd namespace (accepted for compatibility; keel has none).'),
})

const keelAdditions = obj('keel\'s own settings for this entry (not in LinuxKit; LinuxKit refuses this key).', {
  restart: { enum: ['always', 'on-failure', 'never'], description: 'Services only: when to restart the service after it exits. Default: always, with exponential backoff.' },
  after: { type: 'array', items: { type: 'string' }, description: 'Services only: start this service after the named services have started.' },
}, { 'x-keel': true })

/** Every per-image field: valid in a manifest entry and in an image's org.mobyproject.config label. */
export const imageFields: Record<string, Schema> = {
  capabilities: strings('Capabilities the process keeps (CAP_NET_ADMIN or net_admin), or ["all"], or ["none"]. Replaces the image label\'s list. Default: none.'),
  'capabilities.add': strings("Capabilities added to the image label's list."),
  ambient: strings('Ambient capabilities (also added to the bounding set).'),
  mounts: list('Extra mounts; replace the image label\'s.', mount),
  binds: strings('Bind mounts, "source:destination[:options]" (default options rw,rbind,rshared). Replaces the image label\'s list.'),
  'binds.add': strings("Bind mounts added to the image label's list."),
  tmpfs: strings('tmpfs mounts, "destination[:options]".'),
  devices: list('Device nodes to make, and device cgroup rules.', device),
  command: strings('The command and its arguments. Default: from the image label, else the image\'s entrypoint and cmd.'),
  env: strings('Environment, "NAME=value". Default: from the image label, else the image config.'),
  cwd: str('Working folder. Default: from the image label, else the image config, else "/".'),
  net: str('Network namespace: "root"/"host" (default), "new" or "none" (a new one), or a path to join.'),
  pid: str('PID namespace: "new" (default), "host", or a path to join.'),
  ipc: str('IPC namespace: "root"/"host" (default), "new", or a path to join.'),
  uts: str('UTS namespace: "root"/"host" (default), "new", or a path to join.'),
  userns: str('User namespace: "root"/"host" (default), "new", or a path to join.'),
  hostname: str('Hostname (needs a new UTS namespace).'),
  readonly: bool('Mount the root file system read-only.'),
  maskedPaths: strings('Paths made unreadable in the container.'),
  readonlyPaths: strings('Paths made read-only in the container.'),
  uid: id('User ID, or the name of another container in this manifest (each gets an ID from 100 up).'),
  gid: id('Group ID, or the name of a container in this manifest.'),
  additionalGids: { type: 'array', items: { anyOf: [{ type: 'integer', minimum: 0 }, { type: 'string', minLength: 1 }], 'x-hint': idHint }, description: 'Supplementary group IDs or container names.' },
  noNewPrivileges: bool('Set no_new_privs: setuid binaries and file capabilities gain nothing.'),
  oomScoreAdj: int('OOM score adjustment, -1000 to 1000.'),
  rootfsPropagation: str('Mount propagation of the root: private, rprivate, slave, rslave, shared or rshared.'),
  cgroupsPath: str('cgroup the container runs in.'),
  resources: resources,
  sysctl: stringMap('Sysctls set in the container\'s namespaces, "name: value".'),
  rlimits: strings('Resource limits, "name,soft,hard" (name with or without RLIMIT_, values or "unlimited").'),
  uidMappings: list('User namespace UID mappings.', idMapping),
  gidMappings: list('User namespace GID mappings.', idMapping),
  annotations: stringMap('OCI annotations.'),
  runtime,
  keel: keelAdditions,
}

const image = obj('A container: its image and how to run it.', {
  name: str('Name of the container: its folder under /containers and its name in logs.', {
    pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$', 'x-hint': 'letters, digits, "_", "." and "-", starting with a letter or digit',
  }),
  image: str('Image reference (e.g. linuxkit/getty:TAG, ghcr.io/o/r@sha256:...), or @pkg:PATH for a package folder relative to the manifest.', { minLength: 1 }),
  ...imageFields,
}, { required: ['name', 'image'] })

const file = obj('A file, folder or symlink added to the root file system (after everything else, so it wins).', {
  path: str('Where it goes (leading "/" optional).', { minLength: 1 }),
  directory: bool('Make a folder.'),
  symlink: str('Make a symlink pointing here.'),
  contents: str('The file\'s contents.'),
  source: str('Copy this file from the build machine ("~/" is your home folder).'),
  metadata: { enum: ['yaml', 'json'], description: 'Write the merged manifest itself, as YAML or JSON.' },
  optional: bool('With source: skip the file when the source does not exist.'),
  mode: str('Permissions, octal (default "0600" for files, "0700" for folders).', octalMode),
  uid: id('Owner: a user ID or the name of a container in this manifest.'),
  gid: id('Group: a group ID or the name of a container in this manifest.'),
}, { required: ['path'] })

const volume = obj('A volume: an image unpacked (or laid out as OCI) for containers to bind-mount.', {
  name: str('Name, used in binds as the source.', { pattern: '^[a-z0-9_-]*$', 'x-hint': 'lowercase letters, digits, "_" and "-"' }),
  image: str('Image to fill it from (empty: an empty volume).'),
  readonly: bool('Mount it read-only.'),
  format: { enum: ['oci', 'filesystem'], description: 'filesystem (default): the image\'s files; oci: an OCI image layout of it.' },
  platforms: strings('With format oci: the platforms to include, e.g. linux/amd64.'),
}, { required: ['name'] })

export const manifestSchema: Schema = obj('A keel (LinuxKit) manifest.', {
  kernel: obj('The kernel image and its command line.', {
    image: str('Kernel image: holds the kernel and, usually, kernel.tar with its modules.'),
    cmdline: str('Kernel command line.'),
    binary: str('Name of the kernel file in the image (default "kernel").'),
    tar: str('Name of the modules tarball in the image (default "kernel.tar"; "none" for none).'),
    ucode: str('Name of a CPU microcode cpio in the image, prepended to the initrd.'),
  }),
  init: strings('Images unpacked at / to form the base system: keel\'s init first.'),
  onboot: list('Containers run to completion, one after another, at boot.', image),
  onshutdown: list('Containers run to completion, one after another, at shutdown.', image),
  services: list('Long-running containers, started together after onboot and supervised.', image),
  files: list('Files added to the root file system.', file),
  volumes: list('Volumes.', volume),
  trust: obj('Image signature trust (Docker Content Trust). Accepted for compatibility and ignored, with a warning.', {
    image: strings('Images to verify.'),
    org: strings('Organisations whose images to verify.'),
  }),
})

/** The schema of an org.mobyproject.config label: the per-image fields, without name or image. */
export const labelSchema: Schema = obj('Image defaults in the org.mobyproject.config label.', imageFields)
