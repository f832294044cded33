// examples/sshd.yml, built with a throwaway key merged in, boots with the
// guest's port 22 published on the host: that key logs in over SSH and runs
// commands, another key is refused until it is put where the metadata
// package writes keys (/run/config/ssh/authorized_keys), and `poweroff`
// over SSH ends the machine. The console shows the passwordless getty
// (INSECURE=true) and the host keys made on first start.
import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConsoleMatcher } from '../../pkg/run/index.js'
import { bootAndWatch, keel } from '../helpers/keel-cli.js'
import { freePort } from '../helpers/net.js'

const dir = mkdtempSync(join(tmpdir(), 'keel-sshd-'))
const out = join(dir, 'out')

interface SshResult { code: number | null; stdout: string; stderr: string }

function run(cmd: string, args: string[]): Promise<SshResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 90_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0
      resolve({ code, stdout, stderr })
    })
  })
}


t.test('examples/sshd.yml: key login over the published port, a wrong key refused, poweroff over ssh', async (t) => {
  for (const name of ['key', 'other']) {
    const made = await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `keel-test-${name}`, '-f', join(dir, name)])
    t.equal(made.code, 0, `ssh-keygen made ${name} (Debian's openssh-client)\n${made.stderr}`)
  }
  const extra = join(dir, 'key.yml')
  writeFileSync(extra, `files:\n  - path: root/.ssh/authorized_keys\n    source: ${join(dir, 'key.pub')}\n    mode: "0600"\n`)

  const build = await keel(['build', '-o', out, 'examples/sshd.yml', extra])
  t.equal(build.code, 0, `keel build succeeds\n${build.stderr}`)
  const initrd = statSync(join(out, 'sshd-initrd.img')).size
  t.ok(initrd <= 12 * 1024 * 1024, `the initrd is at most 12 MiB (${(initrd / 1048576).toFixed(2)} MiB)`)

  const port = await freePort()
  const ssh = (key: string, command: string): Promise<SshResult> => run('ssh', [
    '-i', join(dir, key), '-p', String(port),
    '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=60',
    '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
    'root@127.0.0.1', command,
  ])

  // The SSH session runs once sshd says it listens; its results are checked after the boot.
  let session: Promise<Record<string, SshResult>> | undefined
  const talk = async (): Promise<Record<string, SshResult>> => {
    const wrong = await ssh('other', 'echo should not run')
    const right = await ssh('key', 'uname -a; keelctl ps')
    const other = readFileSync(join(dir, 'other.pub'), 'utf8').trim()
    const place = await ssh('key', `mkdir -p /run/config/ssh && echo '${other}' > /run/config/ssh/authorized_keys`)
    const metadata = await ssh('other', 'echo metadata key accepted')
    const off = await ssh('key', 'poweroff')
    return { wrong, right, place, metadata, off }
  }
  let seen = ''
  const boot = await bootAndWatch(join(out, 'sshd'), [
    'eth0: 10.0.2.15/24',
    'Server listening on 0.0.0.0 port 22',
    'reboot: Power down',
  ], {
    timeoutMs: 280_000,
    args: ['--publish', `127.0.0.1:${port}:22`],
    onStart: (child) => {
      child.stdout!.on('data', (d: Buffer) => {
        if (session) return
        seen += d.toString()
        if (seen.includes('Server listening on 0.0.0.0 port 22')) session = talk()
      })
    },
  })
  if (!boot.ok) t.comment(`console:\n${boot.console}\nstderr:\n${boot.stderr}`)
  t.ok(session, 'sshd came up')
  const r = session ? await session : undefined
  if (r) {
    t.not(r.wrong!.code, 0, 'a key that is not authorized is refused')
    t.match(r.wrong!.stderr, /Permission denied \(publickey\)/)
    t.notMatch(r.wrong!.stdout, /should not run/)
    t.equal(r.right!.code, 0, `the authorized key logs in\n${r.right!.stderr}`)
    t.match(r.right!.stdout, /^Linux keel \S+ .* x86_64/m, 'uname -a ran in the guest')
    t.match(r.right!.stdout, /sshd\s+service\s+running/, 'keelctl ps lists sshd running')
    t.match(r.right!.stdout, /getty\s+service\s+running/, 'and getty')
    t.equal(r.place!.code, 0, `wrote /run/config/ssh/authorized_keys\n${r.place!.stderr}`)
    t.equal(r.metadata!.code, 0, `a key in /run/config/ssh/authorized_keys logs in\n${r.metadata!.stderr}`)
    t.match(r.metadata!.stdout, /metadata key accepted/)
  }
  t.ok(boot.ok, `booted, served ssh, powered off${boot.missing ? `; never saw: ${boot.missing}` : ''}`)
  t.equal(boot.timedOut, false, 'the guest powered off (by ssh poweroff)')
  t.equal(boot.code, 0, 'keel run exits 0 after a clean power-off')
  t.match(boot.console, /starting a getty on \/dev\/ttyS0 \(root without a password/, 'getty with INSECURE=true')
  t.match(boot.console, /\(ns: getty\) keel:~# /, 'a root shell on the console, no login asked')
  t.match(boot.console, /made host key 256 SHA256:\S+ root@keel \(ED25519\)/, 'host keys made on first start')

  // Negative control: the console check can fail.
  const control = new ConsoleMatcher(['Server listening on 0.0.0.0 port 22', 'a line this image never prints'])
  control.push(`${boot.console}\n`)
  control.end()
  t.equal(control.result().ok, false, 'the check can fail')
})
