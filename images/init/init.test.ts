// Builds keel's C /init, runs its unit tests, and (as root) runs its container
// runtime in host mode ("init run BUNDLE") on a busybox bundle.
import t from 'tap'
import { spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { isStaticElf, parseTap } from '../../test/helpers/c-tests.js'

const here = dirname(fileURLToPath(import.meta.url))
const src = join(here, 'src')
const BUSYBOX = '/bin/busybox'
const APPLETS = ['sh', 'cat', 'echo', 'hostname', 'id', 'pwd', 'touch', 'grep', 'ls', 'sleep', 'test', 'cut', 'tr', 'stat', 'readlink', 'unshare', 'sort', 'tail', 'md5sum']

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

  // ---- security and resources ----

  /** Prints "key=value" for /proc/self/status lines: st CapEff -> capeff=... */
  const status = (...keys: string[]) => keys.map((k) => `echo "${k.toLowerCase()}=$(grep '^${k}:' /proc/self/status | cut -f2)"`).join('; ')
  const procMount = { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] }
  const devMount = { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'mode=755'] }
  /** A bundle running a shell script with /proc and a tmpfs /dev, in new pid and mount namespaces. */
  const shBundle = (script: string, extra: { process?: object; linux?: object; mounts?: object[]; annotations?: object; ns?: string[]; dev?: boolean } = {}) =>
    bundle({
      process: { args: ['sh', '-c', script], env: ['PATH=/bin'], ...extra.process },
      mounts: [procMount, ...(extra.dev === false ? [] : [devMount]), ...(extra.mounts ?? [])],
      linux: { ...namespaces(...(extra.ns ?? ['pid', 'mount'])), ...extra.linux },
      ...(extra.annotations ? { annotations: extra.annotations } : {}),
    })
  const capSets = (...names: string[]) => ({ bounding: names, effective: names, inheritable: names, permitted: names })
  const hex = (...bits: number[]) => bits.reduce((m, b) => m | (1n << BigInt(b)), 0n).toString(16).padStart(16, '0')

  t.test('capabilities: the listed ones only, none when none are listed', async (t) => {
    const keys = status('CapEff', 'CapBnd', 'CapPrm', 'CapInh', 'CapAmb')
    const some = initRun(shBundle(keys, { process: { capabilities: capSets('CAP_NET_ADMIN', 'CAP_KILL') } }))
    t.equal(some.status, 0, 'runs', { stderr: some.stderr })
    const want = hex(12, 5)
    t.same(mismatches(facts(some.stdout), { capeff: want, capbnd: want, capprm: want, capinh: want, capamb: '0000000000000000' }), [],
      'CAP_NET_ADMIN and CAP_KILL in every set, nothing else')

    const none = initRun(shBundle(`${keys}; touch /proc/x 2>/dev/null; chown 1:1 /bin 2>&1 | grep -o 'not permitted'`, { process: { capabilities: {} } }))
    t.same(mismatches(facts(none.stdout), { capeff: hex(), capbnd: hex(), capprm: hex() }), [], 'an empty list is an unprivileged root')
    const absent = initRun(shBundle(keys))
    t.same(mismatches(facts(absent.stdout), { capeff: hex(), capbnd: hex() }), [], 'no capabilities member: none either')

    const ambient = initRun(shBundle(keys, {
      process: {
        user: { uid: 1000, gid: 1000 },
        capabilities: { ...capSets('CAP_NET_BIND_SERVICE', 'CAP_NET_RAW'), effective: ['CAP_NET_BIND_SERVICE'], ambient: ['CAP_NET_BIND_SERVICE'] },
      },
    }))
    t.equal(ambient.status, 0, 'a user with ambient capabilities runs', { stderr: ambient.stderr })
    t.same(mismatches(facts(ambient.stdout), { capeff: hex(10), capamb: hex(10), capbnd: hex(10, 13) }), [],
      'a non-root user keeps its ambient capability across exec')

    const unknown = initRun(shBundle('echo ran', { process: { capabilities: capSets('CAP_KILL', 'CAP_TELEPORT') } }))
    t.equal(unknown.status, 125, 'an unknown capability exits 125')
    t.equal(unknown.stdout, '', 'before anything runs')
    t.match(unknown.stderr, /unknown capability "CAP_TELEPORT"/, 'and names it')

    // Negative control: the matcher does see a capability that is there.
    t.not(facts(some.stdout).capeff, hex(), 'the probe reads a non-empty set when there is one')
  })

  t.test('no_new_privs and the default seccomp profile', async (t) => {
    const keys = status('NoNewPrivs', 'Seccomp')
    const on = initRun(shBundle(keys, { process: { noNewPrivileges: true } }))
    t.same(mismatches(facts(on.stdout), { nonewprivs: '1', seccomp: '2' }), [], 'NoNewPrivs: 1, Seccomp: 2 (filter)')
    const off = initRun(shBundle(keys, { process: { noNewPrivileges: false } }))
    t.same(mismatches(facts(off.stdout), { nonewprivs: '0', seccomp: '2' }), [], 'without no_new_privs the filter is still on')
    const unconfined = initRun(shBundle(keys, { annotations: { 'dev.keel.seccomp': 'unconfined' } }))
    t.same(mismatches(facts(unconfined.stdout), { nonewprivs: '0', seccomp: '0' }), [], 'dev.keel.seccomp=unconfined turns it off')
    const bad = initRun(shBundle('echo ran', { annotations: { 'dev.keel.seccomp': 'maybe' } }))
    t.equal(bad.status, 125, 'an unknown annotation value exits 125')
    t.match(bad.stderr, /dev\.keel\.seccomp/, 'and says which')
  })

  const probeSrc = join(work, 'probe.c')
  const probeBin = join(work, 'probe')
  writeFileSync(probeSrc, `#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
/* probe ABI:NR[:ARG0] ...: makes each syscall (ABI 64, or 32 through
 * int 0x80) and prints "ABI:NR[:ARG0]=0" or "=E<errno>". */
int main(int argc, char **argv)
{
\tfor (int i = 1; i < argc; i++) {
\t\tchar *p = argv[i];
\t\tint abi = (int)strtol(p, &p, 10);
\t\tlong nr = strtol(p + 1, &p, 10), arg = *p ? strtol(p + 1, NULL, 0) : 0, r;
\t\tif (abi == 32) {
\t\t\t__asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(arg), "c"(0), "d"(0), "S"(0), "D"(0) : "memory");
\t\t\tif (r < 0 && r > -4096) { errno = (int)-r; r = -1; }
\t\t} else {
\t\t\tr = syscall(nr, arg, 0, 0, 0, 0, 0);
\t\t}
\t\tprintf("%s=%s%d\\n", argv[i], r < 0 ? "E" : "", r < 0 ? errno : 0);
\t}
\treturn 0;
}
`)
  const probeBuilt = run('musl-gcc', ['-static', '-Os', '-o', probeBin, probeSrc])
  t.test('seccomp: ENOSYS for calls off the list, on both x86 ABIs', { skip: probeBuilt.status === 0 ? false : `musl-gcc could not build the probe: ${probeBuilt.stderr}` }, async (t) => {
    // acct (x86_64 163, i386 51) needs CAP_SYS_PACCT: without seccomp it is EPERM;
    // personality(READ_IMPLIES_EXEC) is allowed by the kernel, refused by the profile.
    const calls = ['64:163:0', '32:51:0', '64:1000', '64:39', '32:20', '64:135:0x400000', '64:135:0']
    const probeRun = (annotations?: object) => {
      const dir = bundle({ process: { args: ['/probe', ...calls], env: ['PATH=/bin'] }, linux: namespaces('pid', 'mount'), ...(annotations ? { annotations } : {}) })
      copyFileSync(probeBin, join(dir, 'rootfs', 'probe'))
      run('chmod', ['755', join(dir, 'rootfs', 'probe')])
      const r = initRun(dir)
      t.equal(r.status, 0, 'the probe runs', { stderr: r.stderr })
      return facts(r.stdout)
    }
    const confined = probeRun()
    t.same(mismatches(confined, {
      '64:163:0': 'E38', // acct: ENOSYS, not EPERM
      '32:51:0': 'E38', // i386 acct through int 0x80
      '64:1000': 'E38', // a number no kernel has
      '64:39': '0', // getpid: allowed
      '32:20': '0', // i386 getpid: allowed
      '64:135:0x400000': 'E1', // personality with an unsafe flag: EPERM
      '64:135:0': '0', // personality(PER_LINUX): allowed
    }), [], 'the default profile answers as expected')
    // Negative control: the same calls unconfined give the kernel's own answers.
    const free = probeRun({ 'dev.keel.seccomp': 'unconfined' })
    t.same(mismatches(free, { '64:163:0': 'E1', '32:51:0': 'E1', '64:1000': 'E38', '64:135:0x400000': '0' }), [],
      'unconfined, acct is EPERM (no CAP_SYS_PACCT) and personality works')
  })

  t.test('rlimits and oom_score_adj', async (t) => {
    const script = 'echo "nofile=$(ulimit -n)"; echo "nofilehard=$(ulimit -Hn)"; echo "core=$(ulimit -c)"; echo "oom=$(cat /proc/self/oom_score_adj)"'
    const setDir = shBundle(script, {
      process: {
        rlimits: [{ type: 'RLIMIT_NOFILE', soft: 321, hard: 654 }, { type: 'RLIMIT_CORE', soft: 'UNLIMITED', hard: 'UNLIMITED' }],
        oomScoreAdj: 543,
      },
    })
    // Go's uint64 "unlimited", as assembly writes it: more than a JS number holds.
    const config = join(setDir, 'config.json')
    writeFileSync(config, readFileSync(config, 'utf8').replaceAll('"UNLIMITED"', '18446744073709551615'))
    const set = initRun(setDir)
    t.equal(set.status, 0, 'runs', { stderr: set.stderr })
    t.same(mismatches(facts(set.stdout), { nofile: '321', nofilehard: '654', core: 'unlimited', oom: '543' }), [], 'limits and score applied')
    const unset = initRun(shBundle(script))
    const host = readFileSync('/proc/self/oom_score_adj', 'utf8').trim()
    t.not(facts(unset.stdout).nofile, '321', 'negative control: the default is not 321')
    t.equal(facts(unset.stdout).oom, host, 'negative control: without oomScoreAdj the score is inherited')
    const bad = initRun(shBundle('echo ran', { process: { rlimits: [{ type: 'RLIMIT_WINGS', soft: 1, hard: 1 }] } }))
    t.equal(bad.status, 125, 'an unknown rlimit exits 125')
    t.match(bad.stderr, /RLIMIT_WINGS/, 'and names it')
  })

  t.test('maskedPaths and readonlyPaths', async (t) => {
    const script = 'echo "secret=$(cat /secret)"; echo "dir=$(ls /hidden | tr \'\\n\' \' \')"; ' +
      'touch /data/new 2>/dev/null && echo datawrite=allowed || echo datawrite=refused; echo "cpus=$(grep -c ^processor /proc/cpuinfo)"'
    const mk = (linux: object) => {
      const dir = shBundle(script, { linux })
      writeFileSync(join(dir, 'rootfs', 'secret'), 'classified\n')
      mkdirSync(join(dir, 'rootfs', 'hidden'))
      writeFileSync(join(dir, 'rootfs', 'hidden', 'plans'), 'x')
      mkdirSync(join(dir, 'rootfs', 'data'))
      return dir
    }
    const masked = initRun(mk({ maskedPaths: ['/secret', '/hidden', '/proc/cpuinfo', '/not/there'], readonlyPaths: ['/data', '/proc/sys'] }))
    t.equal(masked.status, 0, 'runs', { stderr: masked.stderr })
    t.same(mismatches(facts(masked.stdout), { secret: '', dir: '', datawrite: 'refused', cpus: '0' }), [],
      'masked file and folder read empty, the read-only path refuses writes')
    const plain = initRun(mk({}))
    t.same(mismatches(facts(plain.stdout), { secret: 'classified', dir: 'plans ', datawrite: 'allowed' }), [],
      'negative control: unmasked they show, and /data is writable')
    t.not(facts(plain.stdout).cpus, '0', 'negative control: /proc/cpuinfo lists processors')
  })

  t.test('a symlinked /dev/null in the image cannot redirect masking (CVE-2025-31133)', async (t) => {
    const dir = shBundle('echo "secret=$(cat /secret)"; echo hi > /secret; echo "target=$(cat /etc/target)"; echo "null=$(stat -c %t:%T /secret)"',
      { linux: { maskedPaths: ['/secret'] }, dev: false })
    writeFileSync(join(dir, 'rootfs', 'secret'), 'classified\n')
    mkdirSync(join(dir, 'rootfs', 'etc'))
    writeFileSync(join(dir, 'rootfs', 'etc', 'target'), 'untouched\n')
    mkdirSync(join(dir, 'rootfs', 'dev'))
    symlinkSync('/etc/target', join(dir, 'rootfs', 'dev', 'null'))
    const r = initRun(dir)
    t.equal(r.status, 0, 'runs', { stderr: r.stderr })
    t.same(mismatches(facts(r.stdout), { secret: '', target: 'untouched', null: '1:3' }), [],
      'the real null device masks the file; the link\'s target is not bound over it')
    t.equal(readFileSync(join(dir, 'rootfs', 'etc', 'target'), 'utf8'), 'untouched\n', 'the target file is unchanged')
  })

  t.test('symlinks at mount destinations stay inside the rootfs', async (t) => {
    const outside = join(work, 'outside')
    mkdirSync(outside)
    const dir = shBundle('grep -c " /tmp/" /proc/self/mountinfo; echo > /abs/x/file && echo abswrite=ok', {
      mounts: [
        { destination: '/abs/x', type: 'tmpfs', source: 'tmpfs' },
        { destination: '/rel/y', type: 'tmpfs', source: 'tmpfs' },
        { destination: '/dangling/z', type: 'tmpfs', source: 'tmpfs' },
      ],
    })
    symlinkSync(outside, join(dir, 'rootfs', 'abs')) // absolute: the host's folder by name
    symlinkSync(`../../../../../../..${outside}`, join(dir, 'rootfs', 'rel')) // climbing out
    symlinkSync(join(outside, 'new'), join(dir, 'rootfs', 'dangling')) // a target that does not exist
    const r = initRun(dir)
    t.equal(r.status, 0, 'runs', { stderr: r.stderr })
    t.equal(facts(r.stdout).abswrite, 'ok', 'the mount is usable inside')
    t.same(readdirSync(outside), [], 'nothing was made or mounted in the host folder')
    t.notOk(readFileSync('/proc/self/mountinfo', 'utf8').includes(outside), 'no mount on the host')
    t.ok(existsSync(join(dir, 'rootfs', outside.slice(1), 'x')), 'the destination was made inside the rootfs instead')
    t.ok(existsSync(join(dir, 'rootfs', outside.slice(1), 'new', 'z')), 'a dangling link\'s target too')

    const proc = shBundle('echo ran')
    mkdirSync(join(proc, 'rootfs', 'data'))
    symlinkSync('/data', join(proc, 'rootfs', 'proc'))
    const p = initRun(proc)
    t.equal(p.status, 125, 'procfs on a symlinked /proc is refused (CVE-2019-19921)')
    t.match(p.stderr, /mount \/proc: the destination goes through a symlink/, 'and says why')
    t.equal(p.stdout, '', 'nothing ran')
  })

  t.test('cwd through /proc/self/fd is refused (CVE-2024-21626)', async (t) => {
    for (const cwd of ['/proc/self/fd/3', '/proc/self/cwd', '/proc/1/root']) {
      const r = initRun(shBundle('echo "cwd=$(pwd)"', { process: { cwd } }))
      t.equal(r.status, 125, `${cwd}: exit 125`)
      t.equal(r.stdout, '', `${cwd}: nothing ran`)
      t.match(r.stderr, /magic link/, `${cwd}: says why`)
    }
    const ok = initRun(shBundle('echo "cwd=$(pwd)"', { process: { cwd: '/proc/self' } }))
    t.equal(facts(ok.stdout).cwd, '/proc/1', 'negative control: /proc/self (a plain link) is fine')
  })

  t.test('only fds 0-2 reach the container', async (t) => {
    // ls writes straight to the container's stdout: through a pipe, $(...) or
    // a redirection, the shell would hold more fds of its own.
    const r = initRun(shBundle('ls /proc/$$/fd; echo --; exec 7</dev/null; ls /proc/$$/fd'))
    t.equal(r.status, 0, 'runs', { stderr: r.stderr })
    const [first, second] = r.stdout.split('--\n').map((part) => part.trim().split('\n').join(' '))
    t.equal(first, '0 1 2', 'the shell starts with 0, 1 and 2 only')
    // (busybox ash may keep a descriptor of its own after exec, so only 7 is asked for)
    t.ok(second?.split(' ').includes('7'), 'negative control: an fd it opens shows', { second })
  })

  t.test('the runtime binary cannot be written through /proc/PID/exe (CVE-2019-5736)', async (t) => {
    const before = createHash('sha256').update(readFileSync(init)).digest('hex')
    // A shared pid namespace: the runtime is the container's parent, $PPID.
    const script = 'echo x >> /proc/$PPID/exe 2>/dev/null && echo write=yes || echo write=no; ' +
      'echo "why=$( (echo x >> /proc/$PPID/exe) 2>&1 | grep -o "Permission denied\\|Text file busy")"; ' +
      'cat /proc/$PPID/exe > /dev/null 2>&1 && echo read=yes || echo read=no; echo "self=$(readlink /proc/$$/exe)"'
    const r = initRun(shBundle(script, { ns: ['mount'], process: { capabilities: capSets('CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_SYS_ADMIN') } }))
    t.equal(r.status, 0, 'runs', { stderr: r.stderr })
    t.same(mismatches(facts(r.stdout), { write: 'no', why: 'Permission denied', read: 'no', self: '/bin/busybox' }), [],
      'a root container with DAC_OVERRIDE cannot even open it: the runtime is not dumpable')
    const ptrace = initRun(shBundle(script, { ns: ['mount'], process: { capabilities: capSets('CAP_DAC_OVERRIDE', 'CAP_SYS_PTRACE') } }))
    t.same(mismatches(facts(ptrace.stdout), { write: 'no', why: 'Text file busy', read: 'yes' }), [],
      'with CAP_SYS_PTRACE it can read it (so the path is right), but writing a running binary is refused')
    t.equal(createHash('sha256').update(readFileSync(init)).digest('hex'), before, 'the binary is unchanged')
  })

  t.test('sysctl: namespaced ones only, in the container', async (t) => {
    const hostForward = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()
    const want = hostForward === '1' ? '0' : '1'
    const r = initRun(shBundle('echo "fwd=$(cat /proc/sys/net/ipv4/ip_forward)"; echo "rmid=$(cat /proc/sys/kernel/shm_rmid_forced)"', {
      ns: ['pid', 'mount', 'network', 'ipc'],
      linux: { sysctl: { 'net.ipv4.ip_forward': want, 'kernel.shm_rmid_forced': '1' } },
    }))
    t.equal(r.status, 0, 'runs', { stderr: r.stderr })
    t.same(mismatches(facts(r.stdout), { fwd: want, rmid: '1' }), [], 'set inside')
    t.equal(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim(), hostForward, 'the host\'s value is unchanged')
    const shared = initRun(shBundle('echo ran', { linux: { sysctl: { 'net.ipv4.ip_forward': want } } }))
    t.equal(shared.status, 125, 'net.* without a network namespace exits 125')
    t.match(shared.stderr, /needs a network namespace/, 'and says why')
    const global = initRun(shBundle('echo ran', { ns: ['pid', 'mount', 'network', 'ipc', 'uts'], linux: { sysctl: { 'vm.swappiness': '10' } } }))
    t.equal(global.status, 125, 'a sysctl that is not namespaced exits 125')
    t.match(global.stderr, /not namespaced/, 'and says why')
  })

  t.test('linux.devices and rootfsPropagation', async (t) => {
    const rootLine = 'grep -E "^[^ ]+ [^ ]+ [^ ]+ [^ ]+ / " /proc/self/mountinfo | grep -q shared: && echo root=shared || echo root=private'
    const r = initRun(shBundle(`echo "dev=$(stat -c "%F %t:%T %a %u:%g" /dev/kfull)"; echo "null=$(stat -c "%t:%T" /dev/null)"; ${rootLine}`, {
      linux: {
        devices: [{ path: '/dev/kfull', type: 'c', major: 1, minor: 7, fileMode: 0o640, uid: 1000, gid: 1001 }],
        rootfsPropagation: 'shared',
      },
    }))
    t.equal(r.status, 0, 'runs', { stderr: r.stderr })
    t.same(mismatches(facts(r.stdout), { dev: 'character special file 1:7 640 1000:1001', null: '1:3', root: 'shared' }), [],
      'the node is made as asked; the default /dev/null is still there; the root is shared')
    const plain = initRun(shBundle(rootLine))
    t.equal(facts(plain.stdout).root, 'private', 'negative control: without it the root is private')
  })

  t.test('runtime.json interfaces and bindNS', { skip: existsSync('/usr/sbin/ip') || existsSync('/sbin/ip') ? false : 'needs ip(8) to check' }, async (t) => {
    const suffix = String(process.pid % 10000)
    const [veth, peer, moved, movedPeer] = [`kv${suffix}`, `kp${suffix}`, `km${suffix}`, `kq${suffix}`]
    const nsFile = join(work, 'netns', 'net')
    const made = run('ip', ['link', 'add', moved, 'type', 'veth', 'peer', 'name', movedPeer])
    t.equal(made.status, 0, 'a veth pair to move exists on the host', { stderr: made.stderr })
    const dir = shBundle('echo "links=$(cut -d: -f1 /proc/net/dev | tail -n +3 | tr -d " " | sort | tr "\\n" " ")"; echo "ns=$(readlink /proc/self/ns/net)"',
      { ns: ['pid', 'mount', 'network'] })
    writeFileSync(join(dir, 'runtime.json'), JSON.stringify({
      interfaces: [{ name: veth, add: 'veth', peer, createInRoot: false }, { name: moved, createInRoot: false }],
      bindNS: { net: nsFile, cgroup: '', ipc: '', mnt: '', pid: '', user: '', uts: '' },
    }))
    try {
      const r = initRun(dir)
      t.equal(r.status, 0, 'runs', { stderr: r.stderr })
      const got = facts(r.stdout)
      t.equal(got.links, [veth, moved, 'lo'].sort().join(' ') + ' ', 'the new veth end and the moved link are in the container')
      t.equal(run('ip', ['link', 'show', peer]).status, 0, 'the peer stayed on the host')
      t.not(run('ip', ['link', 'show', moved]).status, 0, 'the moved link left the host')
      t.equal(`net:[${statSync(nsFile).ino}]`, got.ns, 'bindNS.net holds the container\'s network namespace')
    } finally {
      run('umount', [nsFile])
      run('ip', ['link', 'del', peer])
      run('ip', ['link', 'del', movedPeer])
    }
    const missing = shBundle('echo ran', { ns: ['pid', 'mount', 'network'] })
    writeFileSync(join(missing, 'runtime.json'), JSON.stringify({ interfaces: [{ name: 'nosuchlink0' }] }))
    const m = initRun(missing)
    t.equal(m.status, 125, 'moving a link that does not exist fails the container')
    t.equal(m.stdout, '', 'before it runs')
    t.match(m.stderr, /move interface nosuchlink0/, 'and says why')
  })

  /** The mounts on `path` in the host's mount table, bottom first. */
  const mountsOn = (path: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map((line) => line.split(' ')).filter((f) => f[4] === path).map((f) => f[f.indexOf('-') + 1])
  const unmountAll = (path: string) => {
    for (let n = mountsOn(path).length; n > 0; n--) run('umount', [path])
  }

  t.test('a restart finds its runtime.json mounts in place: none pile up, the writable root is kept', async (t) => {
    // As assembly lays out a writable root: the image in lower/, an overlay
    // on rootfs/ with its upper layer on a tmpfs in tmp/.
    const dir = shBundle('cat /state 2>/dev/null; echo "run $(cat /state 2>/dev/null | wc -l)" >> /state')
    const [lower, rootfs, tmp] = ['lower', 'rootfs', 'tmp'].map((d) => join(dir, d))
    run('mv', [rootfs, lower])
    mkdirSync(rootfs)
    writeFileSync(join(dir, 'runtime.json'), JSON.stringify({
      mounts: [
        { source: 'tmpfs', type: 'tmpfs', destination: tmp },
        { destination: tmp, options: ['remount', 'private'] },
        { source: 'overlay', type: 'overlay', destination: rootfs, options: [`lowerdir=${lower}`, `upperdir=${tmp}/upper`, `workdir=${tmp}/work`] },
      ],
    }))
    try {
      const first = initRun(dir)
      t.equal(first.status, 0, 'the first start runs', { stderr: first.stderr })
      t.notMatch(first.stdout, /^run 0$/m, 'negative control: the first start finds no state')
      const runs = [initRun(dir), initRun(dir)]
      t.same(runs.map((r) => r.status), [0, 0], 'two restarts run', { stderr: runs.map((r) => r.stderr).join('') })
      t.match(runs[1]!.stdout, /^run 0\nrun 1\n/, 'the third start sees what the first two wrote')
      t.same(mountsOn(tmp), ['tmpfs'], 'one tmpfs on tmp/, not one per start')
      t.same(mountsOn(rootfs), ['overlay'], 'one overlay on rootfs/')
    } finally {
      unmountAll(rootfs)
      unmountAll(tmp)
    }
  })

  t.test('a restart binds its new namespace at bindNS in place of the last one', async (t) => {
    const nsFile = join(work, 'restart-netns', 'net')
    const dir = shBundle('echo "ns=$(readlink /proc/self/ns/net)"', { ns: ['pid', 'mount', 'network'] })
    writeFileSync(join(dir, 'runtime.json'), JSON.stringify({ bindNS: { net: nsFile } }))
    try {
      const a = initRun(dir)
      const b = initRun(dir)
      t.same([a.status, b.status], [0, 0], 'both starts run', { stderr: a.stderr + b.stderr })
      t.not(facts(a.stdout).ns, facts(b.stdout).ns, 'negative control: each start has a namespace of its own')
      t.same(mountsOn(nsFile), ['nsfs'], 'one namespace is bound there, not one per start')
      t.equal(`net:[${statSync(nsFile).ino}]`, facts(b.stdout).ns, 'and it is the newest')
    } finally {
      unmountAll(nsFile)
    }
  })

  t.test('a file bound at the top of the root', async (t) => {
    const src = join(work, 'top-file')
    writeFileSync(src, 'on top\n')
    const r = initRun(shBundle('cat /top.txt', { mounts: [{ destination: '/top.txt', type: 'bind', source: src, options: ['rbind', 'ro'] }] }))
    t.equal(r.status, 0, 'runs', { stderr: r.stderr })
    t.equal(r.stdout, 'on top\n', 'and reads it')
  })

  // cgroup v2: /sys/fs/cgroup on a unified host; on a hybrid host, its
  // unified hierarchy mounted there in a private mount namespace.
  const cgroupFs = (dir: string) => run('stat', ['-f', '-c', '%T', dir]).stdout.trim() === 'cgroup2fs'
  const cgRoot = cgroupFs('/sys/fs/cgroup') ? '/sys/fs/cgroup' : cgroupFs('/sys/fs/cgroup/unified') ? '/sys/fs/cgroup/unified' : undefined
  const controllers = cgRoot ? readFileSync(join(cgRoot, 'cgroup.controllers'), 'utf8').trim().split(/\s+/) : []
  const cgRun = (dir: string) => cgRoot === '/sys/fs/cgroup' ? initRun(dir)
    : run('unshare', ['-m', 'sh', '-c', 'mount --make-rprivate / && mount -t cgroup2 none /sys/fs/cgroup && exec "$@"', 'sh', init, 'run', dir], 60_000)
  const cgCleanup = (name: string, enabledBefore: string) => {
    if (!cgRoot) return
    rmdirSync(join(cgRoot, 'keel', name))
    if (readdirSync(join(cgRoot, 'keel')).filter((f) => !f.includes('.')).length === 0) rmdirSync(join(cgRoot, 'keel'))
    // Leave the host's root as it was.
    const before = new Set(enabledBefore.split(/\s+/))
    for (const c of readFileSync(join(cgRoot, 'cgroup.subtree_control'), 'utf8').trim().split(/\s+/)) {
      if (c && !before.has(c)) run('sh', ['-c', `echo -${c} > ${join(cgRoot, 'cgroup.subtree_control')}`])
    }
  }

  t.test('cgroup v2: the container joins its own cgroup', { skip: cgRoot ? false : 'no cgroup2 hierarchy on this host' }, async (t) => {
    const before = readFileSync(join(cgRoot!, 'cgroup.subtree_control'), 'utf8').trim()
    const huge = controllers.includes('hugetlb') && existsSync(join(cgRoot!, 'hugetlb.2MB.events'))
    const dir = shBundle('echo "cg=$(grep ^0:: /proc/self/cgroup)"; echo "huge=$(cat /sys/fs/cgroup/hugetlb.2MB.max 2>/dev/null)"', {
      ns: ['pid', 'mount', 'cgroup'],
      mounts: [{ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'ro'] }],
      linux: huge ? { resources: { hugepageLimits: [{ pageSize: '2MB', limit: 2097152 * 3 }] } } : {},
    })
    const name = dir.split('/').pop()!
    try {
      const r = cgRun(dir)
      t.equal(r.status, 0, 'runs', { stderr: r.stderr })
      t.equal(facts(r.stdout).cg, '0::/', 'in a cgroup namespace rooted at its cgroup')
      t.ok(existsSync(join(cgRoot!, 'keel', name)), `its cgroup is keel/${name}`)
      if (huge) {
        t.equal(facts(r.stdout).huge, String(2097152 * 3), 'hugepageLimits -> hugetlb.2MB.max, seen inside')
        t.equal(readFileSync(join(cgRoot!, 'keel', name, 'hugetlb.2MB.max'), 'utf8').trim(), String(2097152 * 3), 'and on the host')
      }
      const plain = cgRun(shBundle('echo "cg=$(grep ^0:: /proc/self/cgroup)"', { ns: ['pid', 'mount'] }))
      const plainName = `bundle-${n - 1}`
      t.equal(facts(plain.stdout).cg, `0::/keel/${plainName}`, 'negative control: without a cgroup namespace the full path shows')
      cgCleanup(plainName, before)
    } finally {
      cgCleanup(name, before)
    }
  })

  t.test('cgroup v2: memory.max and pids.max', {
    skip: cgRoot && controllers.includes('memory') && controllers.includes('pids') ? false
      : 'the memory and pids controllers are not on cgroup v2 here (a hybrid host); the boot-test case test/cases/110_security checks them',
  }, async (t) => {
    const before = readFileSync(join(cgRoot!, 'cgroup.subtree_control'), 'utf8').trim()
    const dir = shBundle('echo "mem=$(cat /sys/fs/cgroup/memory.max)"; echo "pids=$(cat /sys/fs/cgroup/pids.max)"', {
      ns: ['pid', 'mount', 'cgroup'],
      mounts: [{ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro'] }],
      linux: { resources: { memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 42 } } },
    })
    const name = dir.split('/').pop()!
    try {
      const r = cgRun(dir)
      t.equal(r.status, 0, 'runs', { stderr: r.stderr })
      t.same(mismatches(facts(r.stdout), { mem: String(64 * 1024 * 1024), pids: '42' }), [], 'limits seen inside')
      t.equal(readFileSync(join(cgRoot!, 'keel', name, 'pids.max'), 'utf8').trim(), '42', 'pids.max on the host')
    } finally {
      cgCleanup(name, before)
    }
  })
})
