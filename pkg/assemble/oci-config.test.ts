import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml'
import { imageFields, parseManifest } from '../manifest/index.js'
import type { ImageConfig } from '../oci/index.js'
import { configJson, generateConfig, rootfsMounts, runtimeJson } from './oci-config.js'

const image = (config: ImageConfig['config'] = {}): ImageConfig => ({
  architecture: 'amd64', os: 'linux', config, rootfs: { type: 'layers', diff_ids: [] },
})
const labelled = (label: object, config: ImageConfig['config'] = {}): ImageConfig =>
  image({ ...config, Labels: { 'org.mobyproject.config': JSON.stringify(label) } })
const ids = new Map([['sshd', 102]])

t.test('command, env and cwd: manifest over label over image config', async (t) => {
  const img = labelled({ command: ['/label'], env: ['L=1'] }, { Entrypoint: ['/ep'], Cmd: ['arg'], Env: ['I=1'], WorkingDir: '/img' })
  const fromImage = generateConfig({ name: 'a', image: 'x' }, image({ Entrypoint: ['/ep'], Cmd: ['arg'], Env: ['I=1'], WorkingDir: '/img' }), ids, 'a').spec
  t.same(fromImage.process.args, ['/ep', 'arg'])
  t.same(fromImage.process.env, ['I=1'])
  t.equal(fromImage.process.cwd, '/img')
  const fromLabel = generateConfig({ name: 'a', image: 'x' }, img, ids, 'a').spec
  t.same(fromLabel.process.args, ['/label'])
  t.same(fromLabel.process.env, ['L=1'])
  const fromManifest = generateConfig({ name: 'a', image: 'x', command: ['/m'], env: ['M=1'], cwd: '/m' }, img, ids, 'a').spec
  t.same(fromManifest.process.args, ['/m'])
  t.same(fromManifest.process.env, ['M=1'])
  t.equal(fromManifest.process.cwd, '/m')
})

t.test('no command anywhere is an error naming the entry', async (t) => {
  t.throws(() => generateConfig({ name: 'a', image: 'x' }, image(), ids, 'services[0] a'), /services\[0\] a: no command/)
})

t.test('default mounts and namespaces follow LinuxKit', async (t) => {
  const { spec } = generateConfig({ name: 'a', image: 'x', command: ['/a'] }, image(), ids, 'a')
  t.same(spec.mounts.map((m) => m.destination), ['/dev', '/dev/pts', '/proc', '/sys', '/sys/fs/cgroup'])
  t.same(spec.linux.namespaces, [{ type: 'pid' }, { type: 'mount' }], 'new pid and mount; host net, ipc, uts')
  t.same(spec.process.capabilities?.bounding, [], 'no capabilities unless asked')
  t.equal(spec.root.path, 'rootfs')
  t.equal(spec.root.readonly, false)
})

t.test('namespaces: new, host and paths', async (t) => {
  const { spec } = generateConfig({ name: 'a', image: 'x', command: ['/a'], net: 'new', pid: 'host', uts: '/proc/1/ns/uts', ipc: 'new' }, image(), ids, 'a')
  t.same(spec.linux.namespaces, [{ type: 'network' }, { type: 'ipc' }, { type: 'uts', path: '/proc/1/ns/uts' }, { type: 'mount' }])
})

t.test('capabilities: replace, .add unions with the label, all and none, with or without CAP_', async (t) => {
  const img = labelled({ capabilities: ['CAP_NET_ADMIN'] })
  const caps = (entry: object): string[] | undefined => generateConfig({ name: 'a', image: 'x', command: ['/a'], ...entry }, img, ids, 'a').spec.process.capabilities?.effective
  t.same(caps({}), ['CAP_NET_ADMIN'])
  t.same(caps({ capabilities: ['sys_admin'] }), ['CAP_SYS_ADMIN'])
  t.same(caps({ 'capabilities.add': ['CAP_KILL'] }), ['CAP_NET_ADMIN', 'CAP_KILL'])
  t.same(caps({ capabilities: ['none'] }), [])
  t.equal(caps({ capabilities: ['all'] })?.length, 41)
  t.throws(() => caps({ capabilities: ['CAP_FLY'] }), /unknown capability "CAP_FLY"/)
})

t.test('binds: replace the label, .add unions; default options rw,rbind,rshared', async (t) => {
  const img = labelled({ binds: ['/var:/var'] })
  const binds = (entry: object) => generateConfig({ name: 'a', image: 'x', command: ['/a'], ...entry }, img, ids, 'a').spec.mounts.filter((m) => m.type === 'bind')
  t.same(binds({}), [{ destination: '/var', type: 'bind', source: '/var', options: ['rw', 'rbind', 'rshared'] }])
  t.same(binds({ 'binds.add': ['/etc:/hostetc:ro'] }).map((m) => [m.destination, m.options]), [['/hostetc', ['ro', 'rbind']], ['/var', ['rw', 'rbind', 'rshared']]])
  t.same(binds({ binds: ['/run:/run'] }).map((m) => m.destination), ['/run'])
  t.throws(() => binds({ binds: ['/nodest'] }), /missing ":"/)
  t.throws(() => binds({ binds: ['/a:../b'] }), /absolute path/)
})

t.test('readonly, tmpfs, mounts, ids by name, rlimits, sysctl and the runtime section', async (t) => {
  const { spec, runtime } = generateConfig({
    name: 'a', image: 'x', command: ['/a'], readonly: true, tmpfs: ['/tmp:size=1m'],
    mounts: [{ type: 'mqueue' }, { source: 'proc', destination: '/hostproc' }],
    uid: 'sshd', gid: 7, additionalGids: ['sshd', 5], rlimits: ['nofile,1024,unlimited'],
    sysctl: { 'net.ipv4.ip_forward': '1' }, hostname: 'box', noNewPrivileges: true, oomScoreAdj: -500,
    runtime: { mkdir: ['/var/lib/x'] },
  }, image(), ids, 'a')
  t.equal(spec.root.readonly, true)
  t.same(spec.mounts.find((m) => m.destination === '/dev')?.options, ['nosuid', 'strictatime', 'mode=755', 'size=65536k', 'ro'])
  t.same(spec.mounts.find((m) => m.destination === '/tmp'), { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] })
  t.same(spec.mounts.find((m) => m.destination === '/dev/mqueue'), { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue' })
  t.same(spec.mounts.find((m) => m.destination === '/hostproc')?.type, 'proc')
  t.same(spec.process.user, { uid: 102, gid: 7, additionalGids: [102, 5] })
  t.same(spec.process.rlimits, [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 18446744073709551615n }])
  t.match(configJson(spec), /"hard": 18446744073709551615,\n/, 'written exactly in config.json')
  t.same(spec.linux.sysctl, { 'net.ipv4.ip_forward': '1' })
  t.equal(spec.hostname, 'box')
  t.equal(spec.process.noNewPrivileges, true)
  t.equal(spec.process.oomScoreAdj, -500)
  t.same(runtime, {
    cgroups: [], mounts: [], mkdir: ['/var/lib/x'], interfaces: [],
    bindNS: { cgroup: '', ipc: '', mnt: '', net: '', pid: '', user: '', uts: '' }, namespace: '',
  })
  t.throws(() => generateConfig({ name: 'a', image: 'x', command: ['/a'], uid: 'nobody' }, image(), ids, 'a'), /uid "nobody" is neither/)
  t.throws(() => generateConfig({ name: 'a', image: 'x', command: ['/a'], rlimits: ['bogus,1,2'] }, image(), ids, 'a'), /unknown rlimit/)
})

t.test('a broken label is reported with the image', async (t) => {
  const img = image({ Labels: { 'org.mobyproject.config': '{not json' } })
  t.throws(() => generateConfig({ name: 'a', image: 'x', command: ['/a'] }, img, ids, 'services[0] a (x)'), /services\[0\] a \(x\): label org\.mobyproject\.config: not valid JSON/)
})

t.test('a label is checked against the per-image schema, naming the field', async (t) => {
  const where = 'image linuxkit/x:1 (sha256:abc)'
  const gen = (label: object): unknown => generateConfig({ name: 'a', image: 'x', command: ['/a'] }, labelled(label), ids, where)
  t.throws(() => gen({ capabilites: ['CAP_KILL'] }), { message: 'image linuxkit/x:1 (sha256:abc): label org.mobyproject.config: capabilites: unknown field; did you mean "capabilities"?' })
  t.throws(() => gen({ name: 'sneaky' }), /"name" cannot be set in a label/)
  t.throws(() => gen({ binds: '/a:/b' }), /binds: must be a list/)
  t.throws(() => gen({ binds: ['/a'] }), /binds\[0\]: bind "\/a" needs "source:destination\[:options\]"/)
  t.throws(() => gen({ pid: 'sideways' }), /pid: must be "host", "root", "new" or the absolute path/)
  t.throws(() => gen([1, 2]), /must be a JSON object/)
  t.doesNotThrow(() => gen({ capabilities: ['CAP_KILL'], binds: ['/a:/b'], runtime: { mkdir: ['/x'] } }))
})

t.test('runtime: merged field by field with the label, as LinuxKit does', async (t) => {
  const img = labelled({ runtime: { mkdir: ['/label'], cgroups: ['c1'], bindNS: { net: '/run/netns/l', pid: '/run/pidns/l' } } })
  const { runtime } = generateConfig({ name: 'a', image: 'x', command: ['/a'], runtime: { mkdir: ['/mine'], bindNS: { net: '/run/netns/m' } } }, img, ids, 'a')
  t.same(runtime['mkdir'], ['/mine'], 'the manifest replaces a field')
  t.same(runtime['cgroups'], ['c1'], 'the label fills a field the manifest leaves out')
  t.same(runtime['bindNS'], { cgroup: '', ipc: '', mnt: '', net: '/run/netns/m', pid: '/run/pidns/l', user: '', uts: '' }, 'bindNS per namespace')
})

t.test('capabilities.add keeps the label list order, repeats and all, in effective; bounding is sorted and unique', async (t) => {
  const img = labelled({ capabilities: ['CAP_KILL', 'CAP_CHOWN'] })
  const caps = generateConfig({ name: 'a', image: 'x', command: ['/a'], 'capabilities.add': ['CAP_KILL'] }, img, ids, 'a').spec.process.capabilities!
  t.same(caps.effective, ['CAP_KILL', 'CAP_CHOWN', 'CAP_KILL'])
  t.same(caps.bounding, ['CAP_CHOWN', 'CAP_KILL'])
})

t.test('LinuxKit details: all/none only alone in the merged list, string fields skip "", ids "root", device modes', async (t) => {
  const gen = (entry: object, img = image()): ReturnType<typeof generateConfig> => generateConfig({ name: 'a', image: 'x', command: ['/a'], ...entry }, img, ids, 'a')
  t.throws(() => gen({ 'capabilities.add': ['CAP_KILL'] }, labelled({ capabilities: ['all'] })), /unknown capability "all"/, 'label all + .add is not "all"')
  t.equal(gen({ 'capabilities.add': ['all'] }).spec.process.capabilities?.effective?.length, 41, '.add of all alone is all')
  t.same(gen({ ambient: ['all'] }).spec.process.capabilities?.bounding, [...gen({ capabilities: ['all'] }).spec.process.capabilities!.bounding!])
  t.equal(gen({ cwd: '', hostname: '', net: '' }, labelled({ cwd: '/label', hostname: 'h', net: 'new' })).spec.process.cwd, '/label', 'an empty cwd shows the label\'s')
  t.equal(gen({ hostname: '' }, labelled({ hostname: 'h' })).spec.hostname, 'h')
  t.same(gen({ net: '' }, labelled({ net: 'new' })).spec.linux.namespaces[0], { type: 'network' })
  t.equal(gen({ cgroupsPath: '' }, labelled({ cgroupsPath: '/l' })).spec.linux.cgroupsPath, undefined, 'a pointer field: "" from the manifest wins')
  t.same(gen({ uid: 'root', gid: '' }).spec.process.user, { uid: 0, gid: 0 })
  t.throws(() => gen({ devices: [{ path: '/dev/x', type: 'c', major: 1, minor: 2 }] }), /device "\/dev\/x": mode "" is not an octal number/)
  t.throws(() => gen({ devices: [{ path: '/dev/x', type: 'c', major: 1, minor: 2, mode: '0689' }] }), /not an octal number/)
  t.throws(() => gen({ resources: { pids: { limit: 'many' } } }), /a: resources\.pids\.limit: must be an integer/)
  const { spec } = gen({})
  t.same(spec.process.capabilities, { bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] })
  t.same(spec.linux.resources, {})
  t.equal(spec.ociVersion, '1.2.1')
  t.notMatch(configJson(spec), /\n$/, 'no trailing newline, as LinuxKit')
  t.match(configJson(spec), /\n {8}"capabilities": \{\}\n/)
})

t.test('configJson of anything but a spec writes plain data as Go would', async (t) => {
  t.equal(configJson({ b: [], a: '<' }), '{\n    "a": "\\u003c",\n    "b": []\n}')
  t.equal(configJson([1n << 64n]), '[\n    18446744073709551616\n]')
})

t.test('rootfsMounts: as ImageBundle lays them out', async (t) => {
  t.same(rootfsMounts('containers/onboot/000-a', true), [{ source: '/containers/onboot/000-a/rootfs', destination: '/containers/onboot/000-a/rootfs', options: ['bind'] }])
  t.same(rootfsMounts('containers/services/b', true, 'containers/onboot/000-a/rootfs')[0]?.source, '/containers/onboot/000-a/rootfs', 'an image unpacked before')
  t.same(rootfsMounts('containers/services/b', false, 'containers/onboot/000-a/lower')[2]?.options,
    ['lowerdir=/containers/onboot/000-a/lower', 'upperdir=/containers/services/b/tmp/upper', 'workdir=/containers/services/b/tmp/work'])
  const { runtime } = generateConfig({ name: 'a', image: 'x', command: ['/a'], runtime: { mounts: [{ type: 'bind', source: '/s', destination: '/d', uidmappings: [{ containerID: 1, hostID: 2, size: 3 }] }] } }, image(), ids, 'a')
  t.match(runtimeJson(runtime, []), /"mounts": \[\n {8}\{\n {12}"destination": "\/d",\n {12}"type": "bind",\n {12}"source": "\/s",\n {12}"uidMappings": \[/, 'runtime mounts keep their uidmappings, as uidMappings')
})

// ---------------------------------------------------------------------------
// Golden files: config.json and runtime.json byte for byte as LinuxKit writes
// them, one fixture per per-image field, in test/fixtures/oci-config:
//
//   NAME.yml            entry: the fields of a services entry (name "svc",
//                         image "example/svc:1" unless given); it is put in a
//                         manifest and read with parseManifest, so it is also
//                         checked against keel's schema
//                       label: (optional) the image's org.mobyproject.config
//                         label, as an object (the test JSON-encodes it)
//                       image: (optional) the image config (Entrypoint, Cmd,
//                         Env, WorkingDir); default Entrypoint ["/bin/svc"]
//                         and Env ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]
//                       ids: (optional) container name → uid/gid
//   NAME.config.json    the expected config.json (no trailing newline)
//   NAME.runtime.json   the expected runtime.json, with the rootfs mounts
//                         LinuxKit puts first for containers/services/NAME
//
// How the expected files were derived: there is no Go toolchain here, so they
// were not produced by LinuxKit, nor by keel. They were written by a separate
// transcription (in Python, kept out of the repo) of what LinuxKit does at
// commit 3bf33c3a: ConfigToOCI, its assign* helpers, mergeStrings, IDNumeric,
// deviceCgroup and assignRuntime (src/cmd/linuxkit/moby/config.go), the
// rootfs mounts of ImageBundle (moby/build/image.go), the struct field order,
// json tags and omitempty of the vendored runtime-spec v1.2.1
// (vendor/github.com/opencontainers/runtime-spec/specs-go/config.go) and of
// moby.Runtime, and json.MarshalIndent(v, "", "    ") with Go 1.24's
// escaping (<, >, & as \u003c \u003e \u0026). Each file was then read against
// the Go code by hand. Two kinds of fixture say in their header where keel
// knowingly differs from LinuxKit: uidMappings/gidMappings and
// resources-camelcase (LinuxKit's yaml.v3 decoding drops camelCase keys of
// the specs-go structs, which have json tags only; keel keeps the values).
const fixtureDir = join(dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/oci-config')
const defaultImage: ImageConfig['config'] = { Entrypoint: ['/bin/svc'], Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'] }

interface Fixture { entry?: Record<string, unknown>; label?: object; image?: ImageConfig['config']; ids?: Record<string, number> }

const fixtureNames = readdirSync(fixtureDir).filter((f) => f.endsWith('.yml')).map((f) => f.slice(0, -'.yml'.length)).sort()

t.test('there is a golden fixture for every per-image field', async (t) => {
  const fields = Object.keys(imageFields).filter((f) => f !== 'keel')
  t.same(fields.filter((f) => !fixtureNames.includes(f)), [], 'fields without a fixture')
})

for (const name of fixtureNames) {
  t.test(`golden: ${name}`, async (t) => {
    const fx = parseYaml(readFileSync(join(fixtureDir, `${name}.yml`), 'utf8')) as Fixture
    const ids = fx.ids ?? {}
    const entryIn = { name: 'svc', image: 'example/svc:1', ...fx.entry }
    const manifestText = stringifyYaml({ onboot: Object.keys(ids).map((n) => ({ name: n, image: 'example/other:1' })), services: [entryIn] })
    const entry = parseManifest(manifestText, `${name}.yml`, '/').services[0]!
    const config = fx.label === undefined ? (fx.image ?? defaultImage) : { ...(fx.image ?? defaultImage), Labels: { 'org.mobyproject.config': JSON.stringify(fx.label) } }
    const { spec, runtime } = generateConfig(entry, image(config), new Map(Object.entries(ids)), name)
    const got = configJson(spec)
    t.equal(got, readFileSync(join(fixtureDir, `${name}.config.json`), 'utf8'), 'config.json')
    t.doesNotThrow(() => JSON.parse(got), 'config.json is JSON')
    const gotRuntime = runtimeJson(runtime, rootfsMounts(`containers/services/${entry.name}`, spec.root.readonly ?? false))
    t.equal(gotRuntime, readFileSync(join(fixtureDir, `${name}.runtime.json`), 'utf8'), 'runtime.json')
    t.doesNotThrow(() => JSON.parse(gotRuntime), 'runtime.json is JSON')
  })
}

t.test('an image config with a working folder that climbs out is refused, naming the image', async (t) => {
  t.throws(() => generateConfig({ name: 'a', image: 'x', command: ['/a'] }, image({ WorkingDir: '/app/../../etc' }), ids, 'services[0] a (evil:1)'),
    /services\[0\] a \(evil:1\): cwd "\/app\/\.\.\/\.\.\/etc" must be an absolute path without "\.\."/)
  t.throws(() => generateConfig({ name: 'a', image: 'x', command: ['/a'] }, image({ WorkingDir: 'relative' }), ids, 'a'), /must be an absolute path/)
})
