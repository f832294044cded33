import t from 'tap'
import type { ImageConfig } from '../oci/index.js'
import { configJson, generateConfig } from './oci-config.js'

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
  t.match(configJson(spec), /"hard": 18446744073709551615\n/, 'written exactly in config.json')
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
