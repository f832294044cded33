// examples/getty.yml boots to a login prompt on the serial console: a wrong
// password is refused, the example's password logs root in, the shell runs
// a command (keelctl and the CA bundle from images/ca-certificates are
// there), and `poweroff` from that shell ends the machine.
import t from 'tap'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConsoleMatcher } from '../../pkg/run/index.js'
import { bootAndWatch, keel } from '../helpers/keel-cli.js'

const out = mkdtempSync(join(tmpdir(), 'keel-getty-'))
const expected = [
  'starting a getty on /dev/ttyS0 (login, 115200 baud)',
  'Login incorrect',
  /keel-getty-42/,
  /getty\s+service\s+running/,
  /^certificates: 1\d\d$/,
  'reboot: Power down',
]

t.test('examples/getty.yml: a password login on the console, a command, poweroff', async (t) => {
  const build = await keel(['build', '-o', out, 'examples/getty.yml'])
  t.equal(build.code, 0, `keel build succeeds\n${build.stderr}`)

  const boot = await bootAndWatch(join(out, 'getty'), expected, {
    timeoutMs: 240_000,
    script: [
      { when: 'login: ', send: 'root\n' },
      { when: 'Password: ', send: 'not-the-password\n' },
      // busybox login waits a few seconds after a failure, then asks again.
      { when: 'Login incorrect', send: '' },
      { when: 'login: ', send: 'root\n' },
      { when: 'Password: ', send: 'changeme\n' },
      {
        when: '(ns: getty) ',
        send: 'echo keel-getty-$((6*7)); keelctl ps; echo "certificates: $(grep -c BEGIN /hostroot/etc/ssl/certs/ca-certificates.crt)"; echo getty-checked\n',
      },
      // Typed input is echoed where the console is: only once the line after
      // the count has begun does "poweroff" not land inside the count's line.
      { when: /^getty-checked/, send: 'poweroff\n' },
    ],
  })
  if (!boot.ok) t.comment(`console:\n${boot.console}\nstderr:\n${boot.stderr}`)
  t.ok(boot.ok, `logged in, ran the command, powered off${boot.missing ? `; never saw: ${boot.missing}` : ''}`)
  t.equal(boot.timedOut, false, 'the guest powered off by itself')
  t.equal(boot.code, 0, 'keel run exits 0 after a clean power-off')

  // Negative control: the same console, checked for a line it never shows.
  const control = new ConsoleMatcher([expected[0]!, 'a line this image never prints'])
  control.push(`${boot.console}\n`)
  control.end()
  t.equal(control.result().ok, false, 'the check can fail')
  t.equal(control.result().missing, 'a line this image never prints')
})
