// One boot of an image built to exercise init as a supervisor: a service
// that crashes at once (restarted with growing delays while the machine
// stays up), one that runs once (restart: never), two started in "after"
// order, one stopped with keelctl, a ticking one that keelctl execs into,
// measures, pauses, resumes and kills, one that ignores SIGTERM, and a root
// shell that drives keelctl and reads /var/log. The machine is then switched
// off with the ACPI power button (QEMU's system_powerdown, typed into its
// monitor) and must shut down in order: onshutdown containers, services,
// processes, filesystems.
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bootAndWatch, keel, type ConsoleStep } from '../helpers/keel-cli.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const busybox = `"@pkg:${root}images/busybox"`
const work = mkdtempSync(join(tmpdir(), 'keel-supervision-'))
t.teardown(() => rmSync(work, { recursive: true, force: true }))

// The longer keelctl checks, as a script in the image that the shell runs
// one step at a time (typed lines must stay short).
const checks = String.raw`#!/bin/sh
ticks() { keelctl logs ticker | grep -c '^tick'; }
case "$1" in
exec)
  keelctl exec ticker hostname
  keelctl exec ticker cat /marker
  echo "shell-marker=$(cat /marker 2>&1)"
  keelctl exec ticker sh -c 'echo "pid=$$"; grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status; exit 3'
  echo "exec-exit=$?"
  echo piped-in | keelctl exec ticker cat
  keelctl exec ticker /no/such; echo "missing-exit=$?"
  keelctl exec once true; echo "notrunning-exit=$?"
  ;;
stats)
  keelctl stats
  keelctl stats ticker nosuch; echo "stats-bad=$?"
  ;;
pause)
  keelctl pause ticker
  keelctl ps | grep '^ticker '
  sleep 1; a=$(ticks); sleep 3; b=$(ticks)
  echo "paused-ticks=$((b - a))"
  keelctl exec ticker true; echo "exec-paused=$?"
  keelctl resume ticker
  sleep 1; a=$(ticks); sleep 3; b=$(ticks)
  echo "resumed-ticks=$((b - a))"
  ;;
kill)
  keelctl kill -s USR1 ticker
  sleep 2
  keelctl kill ticker
  sleep 2
  keelctl ps | grep '^ticker '
  # Left paused: shutdown must thaw it to let it see SIGTERM.
  keelctl pause ticker
  ;;
esac
`

const manifest = `
kernel:
  image: "@pkg:${root}kernel"
  cmdline: "console=ttyS0 keel.stop_timeout=3"
init:
  - "@pkg:${root}images/init"
onboot:
  - name: hello
    image: ${busybox}
    command: ["/bin/echo", "hello from onboot"]
onshutdown:
  - name: bye
    image: ${busybox}
    command: ["/bin/echo", "goodbye from onshutdown"]
services:
  - name: crasher
    image: ${busybox}
    command: ["/bin/sh", "-c", "echo crasher says boom; exit 1"]
  - name: once
    image: ${busybox}
    command: ["/bin/sh", "-c", "echo once ran"]
    keel:
      restart: never
  # Alphabetically first, but it starts after z-early.
  - name: a-late
    image: ${busybox}
    command: ["/bin/sh", "-c", "echo a-late up; exec sleep 1000"]
    keel:
      after: [z-early]
  # sleep as the pid namespace's init ignores SIGTERM: shutdown needs SIGKILL.
  - name: z-early
    image: ${busybox}
    command: ["/bin/sh", "-c", "echo z-early up; exec sleep 1000"]
  - name: sleeper
    image: ${busybox}
    command: ["/bin/sh", "-c", "trap 'echo sleeper got TERM; exit 0' TERM; echo sleeper up; while :; do sleep 1; done"]
  # What keelctl exec must see from inside: its hostname, its own root
  # (/marker), its pid namespace, its one capability and seccomp.
  - name: ticker
    image: ${busybox}
    uts: new
    hostname: ticker-inside
    capabilities:
      - CAP_NET_BIND_SERVICE
    command: ["/bin/sh", "-c", "trap 'echo ticker got TERM; exit 0' TERM; trap 'echo ticker got USR1' USR1; echo inside > /marker; i=0; while :; do i=$((i+1)); echo tick $i; sleep 1; done"]
  # Shutdown must SIGKILL it after keel.stop_timeout and go on.
  - name: ignorer
    image: ${busybox}
    command: ["/bin/sh", "-c", "trap '' TERM; echo ignorer up; while :; do sleep 1; done"]
  - name: shell
    image: ${busybox}
    command: ["/bin/sh", "-c", "while :; do /sbin/getty -n -l /bin/sh 0 /dev/console; done"]
    binds:
      - /etc/keel-test:/t
      - /dev/console:/dev/console
      - /usr/bin/keelctl:/usr/bin/keelctl
      - /run/keel:/run/keel
      - /var/log:/var/log
    pid: host
    net: host
    capabilities:
      - all
files:
  - path: etc/keel-test/checks.sh
    mode: "0755"
    contents: |
${checks.replace(/^/gm, '      ')}
`

// What the shell is asked to do, in order: each command line is typed at a
// fresh prompt once the one before it has printed its marker,
// "NAME-done-42" (typed as NAME-done-$((6*7)), so that only the output has
// it). Lines stay short: the shell's line editor wraps long ones.
const commands: Array<[string, string]> = [
  // Time for the crasher to go round a few times first.
  ['ps', 'sleep 4; keelctl ps'],
  ['logs', 'keelctl logs -n 2 crasher; keelctl logs once'],
  ['stop', 'keelctl stop sleeper; keelctl ps'],
  ['bad', 'keelctl logs nosuch; echo "exit=$?"'],
  ['file', 'cat /var/log/once.log'],
  ['boom', 'echo "boom=$(grep -c "^crasher says boom$" /var/log/crasher.log)"'],
  ['init', 'echo "init=$(grep -c "onboot hello done" /var/log/init.log)"'],
  ['exec', 'sh /t/checks.sh exec'],
  ['stats', 'sh /t/checks.sh stats'],
  ['pause', 'sh /t/checks.sh pause'],
  ['kill', 'sh /t/checks.sh kill'],
]

function script(): ConsoleStep[] {
  const steps: ConsoleStep[] = []
  commands.forEach(([name, cmd], i) => {
    // Wait for the prompt after the marker, not the marker itself: typing
    // while the marker's line is still being written would echo into it.
    if (i > 0) steps.push({ when: `${commands[i - 1]![0]}-done-42`, send: '' })
    steps.push({ when: '/ # ', send: `${cmd}; echo ${name}-done-$((6*7))\n` })
  })
  // Ctrl-A c: from the serial console to QEMU's monitor (-serial mon:stdio).
  steps.push({ when: `${commands.at(-1)![0]}-done-42`, send: '' }, { when: '/ # ', send: '\x01c' })
  steps.push({ when: '(qemu)', send: 'system_powerdown\n' })
  return steps
}

/** What the shell printed for command NAME: from the marker before it to its own. */
function output(console: string, name: string): string {
  const i = commands.findIndex(([n]) => n === name)
  const from = i > 0 ? console.indexOf(`${commands[i - 1]![0]}-done-42`) : console.indexOf('all services started')
  const to = console.indexOf(`${name}-done-42`, from)
  return from >= 0 && to > from ? console.slice(from, to) : ''
}

t.test('services are supervised, keelctl controls them, the power button shuts down in order', async (t) => {
  writeFileSync(join(work, 'supervision.yml'), manifest)
  const out = join(work, 'out')
  const build = await keel(['build', '-o', out, join(work, 'supervision.yml')])
  t.equal(build.code, 0, `keel build succeeds\n${build.stderr}`)
  if (build.code !== 0) return

  const boot = await bootAndWatch(join(out, 'supervision'), [
    /\[init \d+\.\d{3}\] init started \(keel .*\); the kernel took \d+\.\d{3} s/,
    'stop timeout 3 s',
    /modules loaded: \d+ \(\d+ for \d+ device aliases, \d+ coldplug rounds\) in \d+ ms/,
    'onboot hello done (exit 0)',
    'service z-early started',
    'service a-late started',
    'all services started (8 of 8)',
    ...commands.map(([name]) => `${name}-done-42`),
    'power button pressed: power off',
    'shutdown begun (power off)',
    'bye: goodbye from onshutdown',
    'onshutdown bye done (exit 0)',
    /shutdown: sending SIGTERM to \d+ services: /,
    /shutdown: \d+ services still running after 3000 ms; sending SIGKILL/,
    'shutdown: syncing',
    'shutdown: unmounted',
    'powering off',
    'reboot: Power down',
  ], {
    timeoutMs: 180_000,
    script: script(),
  })
  const log = boot.console
  if (!boot.ok) t.comment(`console:\n${log}\nstderr:\n${boot.stderr}`)
  t.ok(boot.ok, `every expected line came, in order${boot.missing ? `; never saw: ${boot.missing}` : ''}`)
  t.equal(boot.timedOut, false, 'the guest powered off by itself')
  t.equal(boot.code, 0, 'keel run exits 0 after a clean power-off')

  t.test('a crashing service is restarted with growing delays', async (t) => {
    const delays = [...log.matchAll(/service crasher exited \(exit 1\); restarting in (\d+\.\d) s/g)].map((m) => Number(m[1]))
    t.ok(delays.length >= 4, `restarted at least 4 times (${delays.length})`)
    t.same(delays.slice(0, 4), [0.1, 0.2, 0.4, 0.8], 'the delay doubles from 100 ms')
    t.match(log, /service crasher restarted \(pid \d+, restart 1\)/, 'restarts are counted')
    t.match(log, 'service crasher is crash-looping (5 quick exits in a row)', 'the crash loop is reported')
  })

  t.test('restart: never', async (t) => {
    t.match(log, 'service once exited (exit 0); not restarted (restart: never)', 'once exits and is left so')
    t.notMatch(log, 'service once restarted', 'once stays down')
  })

  t.test('keelctl ps', async (t) => {
    const ps = output(log, 'ps')
    t.match(ps, /^NAME +KIND +STATE +PID +RESTARTS +STATUS$/m, 'a header')
    t.match(ps, /^hello +onboot +exited +- +0 +exit 0, \S+ ago$/m, 'the onboot container, exited')
    t.match(ps, /^crasher +service +(restarting|running) +\S+ +[1-9]\d* +/m, 'the crasher, restarted')
    t.match(ps, /^once +service +exited +- +0 +exit 0, \S+ ago$/m, 'once, exited for good')
    t.match(ps, /^sleeper +service +running +\d+ +0 +up \d+s$/m, 'sleeper, running')
    t.match(ps, /^a-late +service +running +\d+ +0 +up /m, 'a-late, running')
  })

  t.test('keelctl logs', async (t) => {
    const logs = output(log, 'logs')
    t.equal([...logs.matchAll(/^crasher says boom$/gm)].length, 2, '-n 2 gives the last two lines, unprefixed')
    t.match(logs, /^once ran$/m, 'all of a service\'s output')
  })

  t.test('keelctl stop', async (t) => {
    const stop = output(log, 'stop')
    t.match(stop, 'service sleeper: stop requested; sending SIGTERM', 'init sends SIGTERM')
    t.match(stop, /^sleeper: sleeper got TERM$/m, 'the service saw SIGTERM')
    t.match(stop, /^sleeper stopped \(exit 0\)$/m, 'keelctl says how it ended')
    t.match(stop, /^sleeper +service +stopped +- +0 +exit 0, /m, 'ps shows it stopped')
    t.notMatch(log, 'service sleeper restarted', 'a stopped service stays down')
    const bad = output(log, 'bad')
    t.match(bad, /^keelctl: no container named nosuch/m, 'an unknown name is an error')
    t.match(bad, /^exit=1$/m, 'with exit code 1')
  })

  t.test('/var/log', async (t) => {
    t.match(output(log, 'file'), /^once ran$/m, '/var/log/once.log holds the service\'s output')
    const boom = /^boom=(\d+)$/m.exec(output(log, 'boom'))
    t.ok(boom && Number(boom[1]) >= 4, `every run of the crasher is in crasher.log (${boom?.[1]})`)
    t.match(output(log, 'init'), /^init=1$/m, 'init\'s own messages are in init.log')
  })

  t.test('shutdown order', async (t) => {
    const at = (s: string): number => log.indexOf(s)
    t.ok(at('power button pressed') < at('bye: goodbye from onshutdown'), 'the button starts it')
    t.ok(at('bye: goodbye from onshutdown') < at('shutdown: sending SIGTERM to'), 'onshutdown containers run first')
    t.ok(at('bye: goodbye from onshutdown') < at('powering off'), 'onshutdown output comes before "powering off"')
    const stopped = /shutdown: sending SIGTERM to \d+ services: (.*)/.exec(log)?.[1]?.split(' ') ?? []
    const pos = (n: string): number => stopped.indexOf(n)
    t.ok(pos('a-late') >= 0 && pos('a-late') < pos('z-early') && pos('z-early') < pos('shell'),
      `services get SIGTERM newest first (${stopped.join(' ')})`)
    t.match(log, 'service z-early stopped (killed by signal 9)', 'one ignoring SIGTERM is killed after keel.stop_timeout')
    t.ok(at('shutdown: syncing') < at('shutdown: unmounted') && at('shutdown: unmounted') < at('powering off'),
      'then sync, unmount, power off')
  })

  t.test('keelctl exec', async (t) => {
    const out = output(log, 'exec')
    t.match(out, /^ticker-inside$/m, 'in the service\'s uts namespace')
    t.match(out, /^inside$/m, 'in the service\'s root: it sees /marker')
    t.match(out, /^shell-marker=.*No such file/m, 'which the shell\'s root does not have (negative control)')
    const pid = /^pid=(\d+)$/m.exec(out)
    t.ok(pid && Number(pid[1]) < 50, `in the service's pid namespace (pid ${pid?.[1]})`)
    t.match(out, /^CapEff:\s+0000000000000400$/m, 'with the service\'s one capability, no more')
    t.match(out, /^CapBnd:\s+0000000000000400$/m, 'and its bounding set')
    t.match(out, /^Seccomp:\s+2$/m, 'under the service\'s seccomp filter')
    t.match(out, /^exec-exit=3$/m, 'the command\'s exit code is keelctl\'s')
    t.match(out, /^piped-in$/m, 'stdin is passed through')
    t.match(out, /^keelctl exec: \/no\/such: No such file or directory$/m, 'a missing command says so')
    t.match(out, /^missing-exit=127$/m, 'with exit code 127')
    t.match(out, /^keelctl: once is not running/m, 'a container that is not running is refused')
    t.match(out, /^notrunning-exit=1$/m, 'with exit code 1')
    t.match(log, /ticker: keelctl exec hostname \(pid \d+\)/, 'init logs each exec')
  })

  t.test('keelctl stats', async (t) => {
    const out = output(log, 'stats')
    t.match(out, /^NAME +STATE +CPU +MEMORY +PIDS +READ +WRITE$/m, 'a header')
    t.match(out, /^ticker +running +\d+\.\d\ds +[\d.]+[KM]iB +[1-9]\d* +\S+B +\S+B$/m, 'cpu, memory, pids and io of a running service')
    t.match(out, /^once +exited +- +- +- +- +-$/m, 'dashes for one that is not running')
    t.match(out, /^keelctl: no container named nosuch/m, 'an unknown name is an error')
    t.match(out, /^stats-bad=1$/m, 'with exit code 1')
  })

  t.test('keelctl pause and resume', async (t) => {
    const out = output(log, 'pause')
    t.match(out, /^ticker paused$/m, 'pause says when the cgroup is frozen')
    t.match(out, /^ticker +service +paused +\d+ /m, 'ps shows it paused')
    t.match(out, /^paused-ticks=0$/m, 'a paused service prints nothing')
    t.match(out, /^keelctl: ticker is paused/m, 'exec into a paused service is refused')
    t.match(out, /^exec-paused=1$/m, 'with exit code 1')
    t.match(out, /^ticker resumed$/m, 'resume thaws it')
    const resumed = /^resumed-ticks=(\d+)$/m.exec(out)
    t.ok(resumed && Number(resumed[1]) >= 2, `and it ticks again (${resumed?.[1]} ticks in 3 s)`)
  })

  t.test('keelctl kill', async (t) => {
    const out = output(log, 'kill')
    t.match(out, /^sent SIGUSR1 to ticker \(pid \d+\)$/m, 'kill -s sends that signal')
    t.match(out, /^ticker: ticker got USR1$/m, 'the service got it')
    t.match(out, /^sent SIGKILL to ticker \(pid \d+\)$/m, 'SIGKILL by default')
    t.match(log, 'service ticker exited (killed by signal 9); restarting in 0.1 s', 'a killed service is handled like a crash')
    t.match(log, /service ticker restarted \(pid \d+, restart 1\)/, 'and restarted by its policy')
    t.match(out, /^ticker +service +running +\d+ +1 +up /m, 'ps counts the restart')
  })

  t.test('shutdown with a paused service and one that ignores SIGTERM', async (t) => {
    const at = (s: string): number => log.indexOf(s)
    t.ok(at('shutdown: sending SIGTERM to') < at('ticker: ticker got TERM'), 'the paused ticker is thawed and sees SIGTERM')
    t.match(log, 'service ticker stopped (exit 0)', 'and stops by itself')
    t.match(log, 'service ignorer stopped (killed by signal 9)', 'the one ignoring SIGTERM is killed after the timeout')
    t.ok(at('service ignorer stopped') < at('reboot: Power down'), 'and shutdown still completes')
  })
})
