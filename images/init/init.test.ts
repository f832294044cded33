// Builds keel's C /init, runs its unit tests, and (as root) runs its container
// runtime in host mode ("init run BUNDLE") on a busybox bundle.
import t from 'tap'
import { spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const src = join(here, 'src')
const BUSYBOX = '/bin/busybox'
const APPLETS = ['sh', 'cat', 'echo', 'hostname', 'id', 'pwd', 'touch', 'grep', 'ls', 'sleep', 'test']

const work = mkdtempSync(join(tmpdir(), 'keel-init-test-'))
t.teardown(() => rmSync(work, { recursive: true, force: true }))
const outA = join(work, 'build-a')
const outB = join(work, 'build-b')
const init = join(outA, 'init')

function run(cmd: string, args: string[], timeout = 300_000): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { encoding: 'utf8', timeout })
}

function make(...args: string[]): SpawnSyncReturns<string> {
  return run('make', ['-C', src, ...args])
}

/** A static ELF has no program interpreter and no dynamic section. */
function isStaticElf(buf: Buffer): boolean {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2) return false
  const phoff = Number(buf.readBigUInt64LE(0x20))
  const phentsize = buf.readUInt16LE(0x36)
  const phnum = buf.readUInt16LE(0x38)
  for (let i = 0; i < phnum; i++) {
    const type = buf.readUInt32LE(phoff + i * phentsize)
    if (type === 2 /* PT_DYNAMIC */ || type === 3 /* PT_INTERP */) return false
  }
  return true
}

interface Tap { plan: number | undefined; ok: number; notOk: string[] }

function parseTap(out: string): Tap {
  const result: Tap = { plan: undefined, ok: 0, notOk: [] }
  for (const line of out.split('\n')) {
    const plan = /^1\.\.(\d+)$/.exec(line)
    if (plan) result.plan = Number(plan[1])
    else if (/^ok \d+/.test(line)) result.ok++
    else if (/^not ok \d+/.test(line)) result.notOk.push(line)
  }
  return result
}

/** "key=value" lines printed by a container, as an object. */
function facts(stdout: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=')
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1)
  }
  return out
}

/** What differs between the facts a container reported and what we expect; empty when all match. */
function mismatches(got: Record<string, string>, want: Record<string, string>): string[] {
  return Object.entries(want)
    .filter(([k, v]) => got[k] !== v)
    .map(([k, v]) => `${k}: got ${JSON.stringify(got[k])}, want ${JSON.stringify(v)}`)
}

t.test('builds a small, static, reproducible binary', async (t) => {
  const a = make(`O=${outA}`)
  t.equal(a.status, 0, 'make succeeds', { stderr: a.stderr })
  t.ok(existsSync(init), 'O=dir/init exists')
  const size = statSync(init).size
  t.ok(size < 300 * 1024, `smaller than 300 KB (${size} bytes)`)
  const bin = readFileSync(init)
  t.ok(isStaticElf(bin), 'statically linked (no PT_INTERP, no PT_DYNAMIC)')
  t.notOk(bin.includes(Buffer.from(src)), 'the source path is not baked in')

  const b = make(`O=${outB}`)
  t.equal(b.status, 0, 'a second build succeeds')
  const hash = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex')
  t.equal(hash(join(outB, 'init')), hash(init), 'two builds in different dirs are identical')

  const version = run(init, ['--version'])
  t.equal(version.status, 0, '--version exits 0')
  t.match(version.stdout, /^keel-init \S+\n$/, '--version prints a version')
  const usage = run(init, ['frobnicate'])
  t.equal(usage.status, 2, 'anything else exits 2')
  t.match(usage.stderr, /usage: init run BUNDLE/, 'and prints usage')
})

t.test('C unit tests pass', async (t) => {
  const r = make(`O=${outA}`, 'test')
  t.equal(r.status, 0, 'make test exits 0', { stderr: r.stderr })
  const tap = parseTap(r.stdout)
  t.ok(tap.plan !== undefined && tap.plan > 0, `a TAP plan (${tap.plan})`)
  t.equal(tap.ok, tap.plan, 'every planned test passed')
  t.same(tap.notOk, [], 'no "not ok" lines')
})

function canUseNamespaces(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root for namespaces and mounts'
  if (!existsSync(BUSYBOX) || !isStaticElf(readFileSync(BUSYBOX))) return `needs a static ${BUSYBOX} (busybox-static)`
  const probe = run('unshare', ['--mount', '--pid', '--uts', '--fork', 'true'], 10_000)
  if (probe.status !== 0) return `cannot create namespaces here: ${probe.stderr || probe.error}`
  return undefined
}

t.test('runtime, host mode', { skip: canUseNamespaces() ?? false }, async (t) => {
  t.ok(existsSync(init), 'binary built')

  let n = 0
  /** A bundle whose rootfs is busybox with applet links in binDir. */
  const bundle = (config: object, binDir = 'bin'): string => {
    const dir = join(work, `bundle-${n++}`)
    const bin = join(dir, 'rootfs', binDir)
    mkdirSync(bin, { recursive: true })
    copyFileSync(BUSYBOX, join(bin, 'busybox'))
    for (const a of APPLETS) symlinkSync('busybox', join(bin, a))
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2))
    return dir
  }
  const namespaces = (...types: string[]) => ({ namespaces: types.map((type) => ({ type })) })
  const initRun = (dir: string) => run(init, ['run', dir], 60_000)

  const hostDir = join(work, 'host-share')
  mkdirSync(hostDir)
  writeFileSync(join(hostDir, 'marker'), 'from-the-host\n')

  const script = [
    'echo "pid=$$"',
    'echo "hostname=$(hostname)"',
    'grep -q "^proc /proc proc" /proc/mounts && echo proc=mounted || echo proc=missing',
    'echo "bind=$(cat /mnt/host/marker)"',
    'touch /mnt/host/new 2>/dev/null && echo bindwrite=allowed || echo bindwrite=refused',
    'echo "rootwrite=$(touch /written 2>&1 | grep -o "Read-only file system")"',
    'echo > /tmp/ok && echo tmpwrite=allowed',
    'test -c /dev/null && echo > /dev/null && echo devnull=ok',
    'test -L /dev/ptmx && test -L /dev/fd && echo devlinks=ok',
    'echo "devwrite=$(touch /dev/new 2>&1 | grep -o "Read-only file system")"',
    'echo "foo=$FOO"',
    'echo "cwd=$(pwd)"',
    'echo "uid=$(id -u)"',
  ].join('\n')
  const main = bundle({
    ociVersion: '1.0.2',
    process: { args: ['sh', '-c', script], env: ['PATH=/bin', 'FOO=bar baz'], cwd: '/tmp', user: { uid: 0, gid: 0 } },
    root: { path: 'rootfs', readonly: true },
    hostname: 'keel-test-box',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      // As keel's assembly writes it for a read-only container: devices are made before /dev turns read-only.
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k', 'ro'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777'] },
      { destination: '/mnt/host', type: 'bind', source: hostDir, options: ['rbind', 'ro'] },
    ],
    linux: namespaces('pid', 'mount', 'uts', 'ipc', 'cgroup'),
  })
  const r = initRun(main)
  t.equal(r.status, 0, 'the container exits 0', { stdout: r.stdout, stderr: r.stderr })
  const got = facts(r.stdout)
  const expected = {
    pid: '1', // a new pid namespace
    hostname: 'keel-test-box', // a new uts namespace
    proc: 'mounted',
    bind: 'from-the-host',
    bindwrite: 'refused',
    rootwrite: 'Read-only file system',
    tmpwrite: 'allowed',
    devnull: 'ok',
    devlinks: 'ok',
    devwrite: 'Read-only file system',
    foo: 'bar baz',
    cwd: '/tmp',
    uid: '0',
  }
  t.same(mismatches(got, expected), [], 'the container saw what config.json asked for')
  for (const [k, v] of Object.entries(expected)) t.equal(got[k], v, `${k} is ${v}`)
  t.notOk(existsSync(join(hostDir, 'new')), 'the read-only bind mount kept the host dir clean')
  t.notOk(existsSync(join(main, 'rootfs', 'written')), 'the read-only root kept the rootfs clean')
  t.notOk(readFileSync('/proc/self/mountinfo', 'utf8').includes(work), 'no mount leaked to the host')

  t.test('negative control: the matcher notices a wrong hostname', async (t) => {
    const wrong = mismatches(got, { ...expected, hostname: 'not-the-hostname' })
    t.equal(wrong.length, 1, 'exactly one mismatch')
    t.match(wrong[0], /^hostname: /, 'and it is the hostname')
  })

  t.test('user, group and supplementary groups', async (t) => {
    const dir = bundle({
      process: {
        args: ['sh', '-c', 'echo "uid=$(id -u)"; echo "gid=$(id -g)"; echo "groups=$(id -G)"'],
        env: ['PATH=/bin'],
        user: { uid: 1234, gid: 2345, additionalGids: [10, 20] },
      },
      linux: namespaces('pid', 'mount'),
    })
    const u = initRun(dir)
    t.equal(u.status, 0, 'exits 0', { stderr: u.stderr })
    t.same(mismatches(facts(u.stdout), { uid: '1234', gid: '2345', groups: '2345 10 20' }), [], 'ids switched')
  })

  t.test('exit codes pass through', async (t) => {
    const dir = bundle({ process: { args: ['sh', '-c', 'exit 42'], env: ['PATH=/bin'] }, linux: namespaces('pid') })
    t.equal(initRun(dir).status, 42, 'exit 42')
    const killed = bundle({ process: { args: ['sh', '-c', 'kill -9 $$'], env: ['PATH=/bin'] } })
    t.equal(initRun(killed).status, 128 + 9, 'killed by SIGKILL gives 137')
  })

  t.test('a missing command exits 127 and says why', async (t) => {
    const dir = bundle({ process: { args: ['no-such-command'], env: ['PATH=/bin'] }, linux: namespaces('pid', 'mount') })
    const m = initRun(dir)
    t.equal(m.status, 127, 'exit 127')
    t.match(m.stderr, /\[init [\d.]+\] bundle-\d+: exec no-such-command: No such file or directory/, 'logged')
  })

  t.test('PATH lookup uses the container\'s PATH', async (t) => {
    const inOpt = { process: { args: ['sh', '-c', 'echo found=yes'], env: ['PATH=/opt/tools'] } }
    const dir = bundle(inOpt, 'opt/tools')
    const found = initRun(dir)
    t.equal(found.status, 0, 'found in PATH=/opt/tools', { stderr: found.stderr })
    t.equal(facts(found.stdout).found, 'yes', 'and ran')
    const noPath = bundle({ process: { args: ['sh', '-c', 'true'], env: [] } }, 'opt/tools')
    t.equal(initRun(noPath).status, 127, 'the default PATH does not include /opt/tools')
  })

  t.test('a bad config fails before anything runs', async (t) => {
    const dir = bundle({
      process: { args: ['sh', '-c', 'echo ran'], env: ['PATH=/bin'] },
      mounts: [{ destination: '/a/../../etc', type: 'tmpfs', source: 'tmpfs' }],
    })
    const b = initRun(dir)
    t.equal(b.status, 125, 'exit 125')
    t.equal(b.stdout, '', 'nothing ran')
    t.match(b.stderr, /"\.\." is not allowed/, 'says why')
  })
})
