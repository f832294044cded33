// End to end: `keel run qemu` with the image in test/fixtures/run (static
// networking, a web server on 8080, a service that mounts the metadata CD
// and prints it), built once and booted a few times:
//  - foreground: --publish reaches the web server at 127.0.0.1 and not at
//    another local address; --data is read back from the cidata CD; the NIC
//    has the state folder's MAC address; SIGINT to keel presses the power
//    button and init powers off cleanly;
//  - --detach, then `keel run stop`: the power-off is in STATE/console.log,
//    the MAC address comes from a mac-addr file already in the state folder;
//  - on a terminal (script(1) gives keel a pty): the escape key's help, and
//    Ctrl-] p powering off;
//  - a boot timeout, and keel killed outright: no QEMU is left behind.
// Bad command lines are checked first; they need no boot.
import t, { type Test } from 'tap'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { get } from 'node:http'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConsoleMatcher } from '../../pkg/run/index.js'
import { bootAndWatch, keel, keelBin, repoRoot, type BootResult } from '../helpers/keel-cli.js'
import { freePort } from '../helpers/net.js'

const work = mkdtempSync(join(tmpdir(), 'keel-run-'))
t.teardown(() => rmSync(work, { recursive: true, force: true }))
const prefix = join(work, 'run')
const BOOT_MS = 240_000

/** A TCP port free on this host right now. */

/** GET http://HOST:PORT/ → the body, or the error's code. */
function httpGet(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const req = get({ host, port, path: '/', timeout: 5000 }, (res) => {
      let body = ''
      res.on('data', (d: Buffer) => { body += d.toString() })
      res.on('end', () => resolve(body))
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', (e: NodeJS.ErrnoException) => resolve(`error: ${e.code ?? e.message}`))
  })
}

/** Does a TCP connection to HOST:PORT open? */
function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port })
    s.setTimeout(3000, () => { s.destroy(); resolve(false) })
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
}

/** QEMUs whose command line holds `text` (a state folder's path). */
const qemusWith = (text: string): string[] =>
  spawnSync('pgrep', ['-af', 'qemu-system'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.includes(text))

function report(t: Test, b: BootResult, what: string): void {
  if (!b.ok) t.comment(`console:\n${b.console}\nstderr:\n${b.stderr}`)
  t.ok(b.ok, `${what}${b.missing ? `; never saw: ${b.missing}` : ''}`)
}

/** Waits until `file` holds `text`, or `ms` pass. */
async function waitForText(file: string, text: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (existsSync(file) && readFileSync(file, 'utf8').includes(text)) return true
    await new Promise((r) => setTimeout(r, 500))
  }
  return false
}

t.test('bad command lines are refused before anything starts', async (t) => {
  const file = join(work, 'a-file')
  writeFileSync(file, 'x')
  const cases: Array<[string, string[], RegExp]> = [
    ['a port out of range', ['--publish', '70000:80'], /--publish 70000:80: the host port 70000 is out of range/],
    ['publishing without user networking', ['--networking', 'none', '--publish', '8080:80'], /--publish needs user networking; --networking is none/],
    ['an unknown networking mode', ['--networking', 'slirp'], /--networking slirp: unknown mode "slirp"/],
    ['--data with --data-file', ['--data', 'x', '--data-file', file], /give --data or --data-file, not both/],
    ['a missing --data-file', ['--data-file', join(work, 'nope')], /--data-file .*nope: no such file/],
    ['a bad disk option', ['--disk', 'd.img,cache=none'], /--disk d.img,cache=none: unknown key "cache"/],
    ['a bad stop timeout', ['--stop-timeout', 'soon'], /--stop-timeout must be a whole number/],
  ]
  for (const [what, args, message] of cases) {
    const r = await keel(['run', 'qemu', ...args, join(work, 'whatever')])
    t.not(r.code, 0, `${what}: non-zero exit`)
    t.match(r.stderr, message, `${what}: says so`)
  }
  const missing = await keel(['run', 'qemu', join(work, 'no-such-image')])
  t.not(missing.code, 0)
  t.match(missing.stderr, /no-such-image: nothing to boot/, 'a nonexistent image is named')
  const stop = await keel(['run', 'stop', work])
  t.not(stop.code, 0)
  t.match(stop.stderr, /no QEMU is running with the state folder/, 'keel run stop with nothing running')
})

t.test('the fixture image builds', async (t) => {
  const build = await keel(['build', '-o', work, 'test/fixtures/run/run.yml'])
  t.equal(build.code, 0, `keel build succeeds\n${build.stderr}`)
  const file = join(work, 'a-file')
  const r = await keel(['run', 'qemu', '--state', file, prefix])
  t.not(r.code, 0)
  t.match(r.stderr, /--state .*a-file: not a folder/, 'a state folder that is a file')
})

t.test('foreground and detached boots', async (t) => {
  if (!existsSync(`${prefix}-kernel`)) return t.plan(0, 'the image did not build')

  const foreground = async (t: Test): Promise<void> => {
    const state = join(work, 'fg-state')
    const port = await freePort()
    const token = `keel-data-${process.pid}-${port}`
    const checks: { local?: string; other?: boolean; sigint?: boolean } = {}
    const b = await bootAndWatch(prefix, [/net: eth0 mac /, 'all services started', 'power button pressed: power off', 'reboot: Power down'], {
      timeoutMs: BOOT_MS,
      args: ['--state', state, '--publish', `${port}:8080`, '--data', token],
      onStart: (child: ChildProcess) => {
        let seen = ''
        let started = false
        child.stdout!.on('data', (d: Buffer) => {
          seen += d.toString()
          if (started || !seen.includes('web: listening') || !seen.includes('data: config:')) return
          started = true
          void (async () => {
            for (let i = 0; i < 20 && checks.local !== 'keel-web-ok\n'; i++) {
              checks.local = await httpGet('127.0.0.1', port)
              if (checks.local !== 'keel-web-ok\n') await new Promise((r) => setTimeout(r, 500))
            }
            checks.other = await canConnect('127.0.0.2', port)
            checks.sigint = child.kill('SIGINT')
          })()
        })
      },
    })
    report(t, b, 'boots, serves, and powers off on SIGINT')
    t.equal(checks.local, 'keel-web-ok\n', '--publish: the web server answers at 127.0.0.1')
    t.equal(checks.other, false, '--publish: nothing listens on 127.0.0.2 (bound to 127.0.0.1 only)')
    // Negative control: a port bound to every address does answer on 127.0.0.2.
    const server = createServer((s) => s.end())
    await new Promise<void>((r) => server.listen(0, '0.0.0.0', r))
    t.equal(await canConnect('127.0.0.2', (server.address() as { port: number }).port), true, 'the 127.0.0.2 check can fail')
    server.close()
    t.ok(checks.sigint, 'SIGINT sent to keel')
    t.match(b.stderr, /got SIGINT: pressing the power button/)
    t.equal(b.code, 0, 'keel run exits 0 after the clean power-off')
    t.match(b.console, `data: user-data: ${token}`, '--data: user-data read back from the cidata CD')
    t.match(b.console, `data: config: ${token}`, '--data: config read back too')
    const mac = readFileSync(join(state, 'mac-addr'), 'utf8').trim()
    t.match(b.console, `net: eth0 mac ${mac}`, `the NIC has the state folder's MAC address (${mac})`)
    t.ok(existsSync(join(state, 'data.iso')), 'the metadata ISO is in the state folder')
    t.same(qemusWith(state), [], 'no QEMU left')
  }

  const detached = async (t: Test): Promise<void> => {
    const state = join(work, 'bg-state')
    mkdirSync(state)
    writeFileSync(join(state, 'mac-addr'), '02:00:00:12:34:56\n')
    const start = await keel(['run', 'qemu', '--detach', '--state', state, prefix])
    t.equal(start.code, 0, `keel run --detach succeeds${start.code === 0 ? '' : `\n${start.stderr}`}`)
    t.equal(start.stdout, `${state}\n`, 'prints the state folder')
    t.teardown(() => { for (const l of qemusWith(state)) process.kill(Number(l.split(' ')[0]), 'SIGKILL') })
    const log = join(state, 'console.log')
    t.ok(await waitForText(log, 'data: no metadata CD', BOOT_MS), 'the console goes to STATE/console.log; no --data, no CD')
    t.match(readFileSync(log, 'utf8'), 'net: eth0 mac 02:00:00:12:34:56', 'the MAC address kept in the state folder')
    const again = await keel(['run', 'qemu', '--state', state, prefix])
    t.not(again.code, 0)
    t.match(again.stderr, /is already running with the state folder .*bg-state/, 'a second machine on the same state folder is refused')
    const stop = await keel(['run', 'stop', state])
    t.equal(stop.code, 0, `keel run stop exits 0 after a clean power-off${stop.code === 0 ? '' : `\n${stop.stderr}`}`)
    const text = readFileSync(log, 'utf8')
    const m = new ConsoleMatcher(['power button pressed: power off', 'shutdown begun', 'powering off', 'reboot: Power down'])
    m.push(`${text}\n`)
    t.ok(m.done, `clean power-off in console.log${m.result().missing ? `; never saw: ${m.result().missing}` : ''}`)
    t.same(qemusWith(state), [], 'no QEMU left')
    // Negative control: the matcher fails on the log from before the stop.
    const control = new ConsoleMatcher(['reboot: Power down'])
    control.push(`${text.slice(0, text.indexOf('power button pressed'))}\n`)
    t.notOk(control.done, 'the check can fail')
  }

  await Promise.all([t.test('foreground: --publish, --data, MAC, SIGINT', foreground), t.test('--detach and keel run stop', detached)])
})

t.test('on a terminal: the escape key', { skip: spawnSync('script', ['--version']).status !== 0 && 'script(1) is not installed' }, async (t) => {
  if (!existsSync(`${prefix}-kernel`)) return t.plan(0, 'the image did not build')
  const state = join(work, 'tty-state')
  const cmd = `exec ${process.execPath} ${keelBin} run qemu --no-reboot --state ${state} ${prefix}`
  const child = spawn('setpriv', ['--pdeathsig', 'KILL', 'script', '-qefc', cmd, '/dev/null'], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] })
  let out = ''
  const steps = [
    { when: 'all services started', send: '\x1d?' },
    { when: 'q quit (kill QEMU), p power off', send: '\x1dp' },
  ]
  const timer = setTimeout(() => child.kill('SIGKILL'), BOOT_MS)
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString()
    while (steps.length > 0 && out.includes(steps[0]!.when)) child.stdin.write(steps.shift()!.send)
  })
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)))
  clearTimeout(timer)
  const m = new ConsoleMatcher(['Ctrl-] then ? for help', 'all services started', 'Ctrl-] then: q quit', 'power off asked for: pressing the power button', 'power button pressed: power off', 'reboot: Power down'])
  m.push(`${out}\n`)
  if (!m.done) t.comment(out)
  t.ok(m.done, `help, then Ctrl-] p powers off${m.result().missing ? `; never saw: ${m.result().missing}` : ''}`)
  t.equal(code, 0, 'exit 0')
  t.same(qemusWith(state), [], 'no QEMU left')
})

t.test('no QEMU outlives keel', async (t) => {
  if (!existsSync(`${prefix}-kernel`)) return t.plan(0, 'the image did not build')
  const timeoutState = join(work, 'timeout-state')
  const timedOut = await bootAndWatch(prefix, ['a line this image never prints'], { timeoutMs: 3000, args: ['--state', timeoutState, '--stop-timeout', '1'] })
  t.ok(timedOut.timedOut, 'the boot timed out (the negative control: the line never came)')
  t.notOk(timedOut.ok)
  t.same(qemusWith(timeoutState), [], 'a boot timeout leaves no QEMU')

  const killedState = join(work, 'killed-state')
  let qemuSeen = false
  const killed = await bootAndWatch(prefix, ['a line this image never prints'], {
    timeoutMs: 60_000,
    args: ['--state', killedState],
    onStart: (child) => {
      child.stdout!.once('data', () => {
        qemuSeen = qemusWith(killedState).length > 0
        child.kill('SIGKILL')
      })
    },
  })
  t.ok(qemuSeen, 'QEMU was running')
  t.equal(killed.timedOut, false)
  await new Promise((r) => setTimeout(r, 500))
  t.same(qemusWith(killedState), [], 'keel killed outright (SIGKILL) leaves no QEMU')
})
