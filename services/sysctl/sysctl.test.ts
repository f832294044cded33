// The sysctl script (services/sysctl/sysctl.sh, /usr/bin/sysctl in the
// image) run on the host with busybox's shell, as in the image, against a
// stand-in /proc/sys and sysctl.d folders: which files win, what is
// written, what is only a warning. The boot test
// (test/cases/060_webserver) checks it against a real kernel.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const script = join(dirname(fileURLToPath(import.meta.url)), 'sysctl.sh')
const busybox = spawnSync('busybox', ['true'])
const skip = busybox.error ? 'busybox is not installed here (Debian: busybox-static)' : false

/** A fresh tree: proc/ with the given settings (all "0"), and the named sysctl.d files. */
function tree(settings: string[], files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'keel-sysctl-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  for (const s of settings) {
    mkdirSync(dirname(join(root, 'proc', s)), { recursive: true })
    writeFileSync(join(root, 'proc', s), '0')
  }
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), text)
  }
  return root
}

const run = (args: string[]): { code: number | null; out: string; err: string } => {
  const r = spawnSync('busybox', ['sh', script, ...args], { encoding: 'utf8' })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

t.test('applies KEY = VALUE lines, trimmed, dots or slashes, comments skipped', { skip }, async (t) => {
  const root = tree(['net/core/somaxconn', 'kernel/x'], {
    'conf/10-a.conf': '# comment\n; also a comment\n\n  net.core.somaxconn = 4096  \nkernel/x=7 8',
  })
  const r = run(['-configDir', join(root, 'conf'), '-sysctlDir', join(root, 'proc')])
  t.equal(r.code, 0)
  t.equal(readFileSync(join(root, 'proc/net/core/somaxconn'), 'utf8'), '4096')
  t.equal(readFileSync(join(root, 'proc/kernel/x'), 'utf8'), '7 8', 'the last line needs no newline; inner spaces stay')
  t.match(r.out, `sysctl: ${join(root, 'conf/10-a.conf')}: 2 set\nsysctl: 2 settings applied, 0 failed\n`)
  t.equal(r.err, '')
})

t.test('an unknown key or a line without "=" is a warning; the rest still apply', { skip }, async (t) => {
  const root = tree(['vm/a'], { 'conf/10-a.conf': 'no.such = 1\nbogus\nvm.a = 5\n' })
  const r = run(['-configDir', join(root, 'conf'), '-sysctlDir', join(root, 'proc')])
  t.equal(r.code, 0, 'exit 0, as LinuxKit\'s')
  t.equal(readFileSync(join(root, 'proc/vm/a'), 'utf8'), '5')
  t.match(r.err, `${join(root, 'conf/10-a.conf')}:1: no such setting: no.such`)
  t.match(r.err, `${join(root, 'conf/10-a.conf')}:2: not KEY = VALUE: bogus`)
  t.match(r.out, 'sysctl: 1 settings applied, 2 failed')
})

t.test('bad flags and a missing folder are errors', { skip }, async (t) => {
  t.equal(run(['-x']).code, 2)
  t.match(run(['-x']).err, 'unknown argument: -x')
  const r = run(['-configDir', '/nonexistent/keel'])
  t.equal(r.code, 1)
  t.match(r.err, 'cannot read folder /nonexistent/keel')
})

t.test('the image\'s defaults are LinuxKit\'s settings, one per line', async (t) => {
  const text = readFileSync(join(dirname(script), 'etc/sysctl.d/00-linuxkit.conf'), 'utf8')
  const keys = text.split('\n').filter((l) => l.trim() && !l.startsWith('#')).map((l) => l.split('=')[0]!.trim())
  t.equal(keys.length, 25)
  for (const k of ['net.ipv4.tcp_syncookies', 'vm.overcommit_memory', 'kernel.kptr_restrict', 'kernel.unprivileged_bpf_disabled', 'kernel.random.write_wakeup_threshold']) {
    t.ok(keys.includes(k), k)
  }
})
