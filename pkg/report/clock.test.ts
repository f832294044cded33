// The firmware's time from console arrival times. testdata/
// minimal-efi-console-timed.txt is a real boot of examples/minimal.yml as
// -f raw-efi under OVMF (TCG), each line with the host's seconds since
// QEMU's start when it arrived: OVMF's own lines, the EFI stub's, then the
// kernel's, whose first lines came in one burst once its console was up.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { estimateKernelStart, LineClock, type TimedLine } from './clock.js'
import { parseBootConsole } from './events.js'

const here = dirname(fileURLToPath(import.meta.url))

function efiBoot(): TimedLine[] {
  const lines: TimedLine[] = []
  const clock = new LineClock()
  for (const row of readFileSync(join(here, 'testdata', 'minimal-efi-console-timed.txt'), 'utf8').split('\n')) {
    const m = /^([0-9.]+) (".*")$/.exec(row)
    if (m) clock.push(`${JSON.parse(m[2]!) as string}\n`, Number(m[1]))
  }
  lines.push(...clock.lines)
  return lines
}

t.test('LineClock stamps each line with the time its end arrived', async (t) => {
  const clock = new LineClock()
  clock.push('[    0.000000] Linux ver', 1.5)
  clock.push('sion 6.1\r\n[    0.1', 1.75)
  clock.push('00000] x\r\n\x1b[2Jtail', 2)
  t.same(clock.lines, [{ host: 1.75, text: '[    0.000000] Linux version 6.1' }, { host: 2, text: '[    0.100000] x' }])
})

t.test('an OVMF boot: the firmware ran about 7.7 s before the kernel', async (t) => {
  const lines = efiBoot()
  t.ok(lines.some((l) => l.text.startsWith('BdsDxe: starting Boot0001')), 'OVMF\'s own lines are on the console')
  t.equal(estimateKernelStart(lines), 7.692, 'the first kernel line\'s arrival, less its stamp')
  // The kernel's milestones read the same as from any other console.
  const { events, complete } = parseBootConsole(lines.map((l) => l.text).join('\n'))
  t.equal(complete, true)
  t.same(events.map((e) => e.kind), ['kernel', 'initramfs', 'kernel-done', 'init', 'root', 'modules', 'onboot', 'service', 'services'])
})

t.test('lines held back until the console is up do not move the estimate', async (t) => {
  // The first three lines arrive together at 5 s; the fourth comes live.
  const lines: TimedLine[] = [
    { host: 5, text: '[    0.000000] Linux version 6.1' },
    { host: 5, text: '[    0.200000] a' },
    { host: 5, text: '[    0.900000] console [ttyS0] enabled' },
    { host: 5.05, text: '[    1.000000] b' },
    { host: 9, text: '[    4.000000] Run /init as init process' },
    // After init runs, a guest clock that drifts must not count.
    { host: 9.5, text: '[    8.000000] late' },
    { host: 9.6, text: '[init 9.000] all services started (1 of 1)' },
  ]
  t.equal(estimateKernelStart(lines), 4.05)
  t.equal(estimateKernelStart(lines.slice(0, 1)), 5)
  // Negative control: with the drifting line counted, the answer would differ.
  t.not(Math.min(...lines.slice(0, 6).map((l) => l.host - Number(/\[\s*([0-9.]+)\]/.exec(l.text)![1]))), 4.05)
})

t.test('no kernel line, no estimate', async (t) => {
  t.equal(estimateKernelStart([{ host: 3, text: 'BdsDxe: loading Boot0001' }, { host: 4, text: '[init 1.000] init started' }]), undefined)
  t.equal(estimateKernelStart([]), undefined)
})
