// The console parser, on consoles captured from real boots of
// examples/minimal.yml (keel run qemu, TCG; CRLF as the serial port sends it):
// testdata/minimal-console.txt as kernel+initrd, and
// testdata/minimal-squashfs-console.txt as kernel+squashfs, where init runs
// twice.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseBootConsole } from './events.js'

const here = dirname(fileURLToPath(import.meta.url))
const sample = (name: string): string => readFileSync(join(here, 'testdata', name), 'utf8')

t.test('a kernel+initrd boot gives every milestone in order, with its time', async (t) => {
  const { events, complete } = parseBootConsole(sample('minimal-console.txt'))
  t.equal(complete, true, 'init said all services started')
  t.same(events.map((e) => [e.kind, e.at, e.label]), [
    ['kernel', 0, 'kernel started'],
    ['initramfs', 1.749900, 'initramfs unpacked'],
    ['kernel-done', 2.571742, 'kernel runs init'],
    ['init', 2.666, 'init started'],
    ['root', 2.953, 'root moved to tmpfs'],
    ['modules', 3.599, '12 kernel modules loaded'],
    ['onboot', 3.814, 'onboot hello done (exit 0)'],
    ['service', 3.897, 'service greeter started'],
    ['services', 3.898, 'all services started (1 of 1)'],
  ])
  const by = (kind: string) => events.find((e) => e.kind === kind)!
  t.equal(by('initramfs').from, 1.400045, 'the unpack span starts at "Trying to unpack"')
  t.equal(by('root').from, 2.725, 'the root switch took 228 ms, as its line says')
  t.equal(by('modules').from, 2.971, 'loading modules took 628 ms')
  t.equal(by('onboot').from, 3.625, "an onboot container starts at init's line before it")
  t.equal(by('onboot').name, 'hello')
  t.equal(by('service').name, 'greeter')
  t.ok(events.every((e) => e.ok), 'nothing failed')
  t.notOk(events.some((e) => e.line.includes('\r')), 'carriage returns are gone')
})

t.test('a kernel+squashfs boot shows the root device and the second init', async (t) => {
  const { events, complete } = parseBootConsole(sample('minimal-squashfs-console.txt'))
  t.equal(complete, true)
  t.same(events.map((e) => [e.kind, e.at, e.label]), [
    ['kernel', 0, 'kernel started'],
    ['initramfs', 1.982949, 'initramfs unpacked'],
    ['kernel-done', 2.775567, 'kernel runs init'],
    ['init', 2.770, 'init started'],
    ['modules', 3.471, '13 kernel modules loaded'],
    ['root', 3.507, 'root found: squashfs on /dev/vda'],
    ['root', 3.539, 'switched to the root device'],
    ['init', 3.566, 'init started again, from the root device'],
    ['modules', 4.086, '13 kernel modules loaded'],
    ['onboot', 4.374, 'onboot hello done (exit 0)'],
    ['service', 4.418, 'service greeter started'],
    ['services', 4.419, 'all services started (1 of 1)'],
  ])
  t.equal(events[5]!.from, 2.807, 'finding the root took 700 ms')
})

t.test('failures, restarts and partial services are marked not ok', async (t) => {
  const { events, complete } = parseBootConsole([
    '[init 1.000] hostname keel',
    '[init 1.500] onboot format FAILED (exit 1)',
    '[init 1.600] onboot mount FAILED: not started',
    '[init 9.600] onboot slow FAILED: still running after 8000 ms; killing it',
    '[init 9.700] service web started (pid 90)',
    '[init 9.800] service web restarted (pid 95, restart 1)',
    '[init 9.900] all services started (1 of 2)',
  ].join('\n'))
  t.equal(complete, true)
  t.same(events.map((e) => [e.label, e.ok, e.from]), [
    ['onboot format FAILED (exit 1)', false, 1.0],
    ['onboot mount FAILED (not started)', false, 1.5],
    ['onboot slow FAILED (still running after 8000 ms; killing it)', false, 1.6],
    ['service web started', true, undefined],
    ['service web restarted', false, undefined],
    ['all services started (1 of 2)', false, undefined],
  ])
})

t.test('lines a service prints cannot pose as init or the kernel', async (t) => {
  // init prefixes service output with the service's name; only a line that
  // begins with the stamp counts.
  const { events, complete } = parseBootConsole([
    'evil: [init 0.001] all services started (9 of 9)',
    'evil: [    0.000000] Linux version 0',
    ' [init 0.002] service fake started (pid 1)',
  ].join('\n'))
  t.same(events, [])
  t.equal(complete, false)
})

t.test('a console cut off before init gives the kernel part and is not complete', async (t) => {
  const text = sample('minimal-console.txt').split('\n').slice(0, 328).join('\n')
  const { events, complete } = parseBootConsole(text)
  t.equal(complete, false)
  t.same(events.map((e) => e.kind), ['kernel', 'initramfs', 'kernel-done'])
})

t.test('terminal escapes are removed before matching', async (t) => {
  const { events } = parseBootConsole('\x1b[0m[init 1.250] service db started (pid 7)\x1b[K\r\n')
  t.same(events.map((e) => [e.kind, e.at, e.name]), [['service', 1.25, 'db']])
})

t.test('an empty console gives nothing', async (t) => {
  t.same(parseBootConsole(''), { events: [], complete: false })
})
