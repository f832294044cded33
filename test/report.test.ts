// keel build --report, end to end: examples/minimal.yml is built with the
// real keel command and booted once under QEMU for its timeline; the page is
// then opened in a real headless Chromium (Debian's chromium package) and
// the DOM it builds must hold the boot's milestones with their times and the
// size of each component. A second build, as a tar (which keel run cannot
// boot), must still give the sizes and say why the timeline was skipped. A
// third, UEFI formats only, is booted with OVMF, whose time before the kernel
// is a row of the timeline.
import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { findOnPath } from '../pkg/exec/index.js'
import { renderReport } from '../pkg/report/index.js'
import { keel } from './helpers/keel-cli.js'

const out = mkdtempSync(join(tmpdir(), 'keel-report-'))
t.teardown(() => rmSync(out, { recursive: true, force: true }))
// Two boots (one under OVMF) and Chromium: on a loaded two-core machine they
// can take longer than the suite's 300 s per file; each boot has its own deadline.
t.setTimeout(600_000)
const chromium = findOnPath('chromium')

/** Chromium's DOM of a page, after it parsed and laid it out. */
function dumpDom(file: string, extra: string[] = []): Promise<{ code: number | null; dom: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const args = ['--headless=new', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', ...extra]
    if (!extra.some((a) => a.startsWith('--screenshot'))) args.push('--dump-dom')
    const child = spawn(chromium!, [...args, pathToFileURL(file).href], { stdio: ['ignore', 'pipe', 'pipe'] })
    let dom = ''
    let stderr = ''
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.stdout.on('data', (d: Buffer) => { dom += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, dom, stderr })
    })
  })
}

/** The event rows of the timeline table, as [kind, name, seconds, label]. */
function eventRows(dom: string): Array<[string, string, string, string]> {
  const rows: Array<[string, string, string, string]> = []
  const re = /<tr class="event[^"]*" data-kind="([^"]+)"(?: data-name="([^"]*)")?><td class="num time">([0-9.]+)<\/td><td class="num">[0-9.]*<\/td><td class="label">([^<]*)<\/td><\/tr>/g
  for (const m of dom.matchAll(re)) rows.push([m[1]!, m[2] ?? '', m[3]!, m[4]!])
  return rows
}

/** The firmware row of the timeline table: [label, seconds it took], or undefined. */
function firmwareRow(dom: string): [string, number] | undefined {
  const m = /<tr class="event" data-kind="firmware"><td class="num time">0\.000<\/td><td class="num">([0-9.]+)<\/td><td class="label">([^<]*)<\/td><\/tr>/.exec(dom)
  return m ? [m[2]!, Number(m[1])] : undefined
}

/** Every milestone the minimal image must show, each with a time; [] when all are there. */
function missingMilestones(dom: string): string[] {
  const rows = eventRows(dom)
  const want: Array<[string, string, RegExp]> = [
    ['kernel', '', /^kernel started$/],
    ['kernel', '', /^kernel, until init started$/],
    ['init', '', /^init started$/],
    ['onboot', 'hello', /^onboot hello done \(exit 0\)$/],
    ['service', 'greeter', /^service greeter started$/],
    ['services', '', /^all services started \(1 of 1\)$/],
  ]
  return want.filter(([kind, name, label]) => !rows.some((r) => r[0] === kind && r[1] === name && label.test(r[3])))
    .map(([kind, name]) => `${kind} ${name}`.trim())
}

t.test('chromium is installed (apt-get install chromium; scripts/setup.sh)', async (t) => {
  t.ok(chromium, 'chromium on PATH')
})

t.test('keel build --report: a timeline and a size breakdown, as Chromium renders them', { skip: !chromium }, async (t) => {
  const build = await keel(['build', '-o', out, '--report', '--report-timeout', '240', 'examples/minimal.yml'])
  t.equal(build.code, 0, `keel build --report succeeds\n${build.stderr}`)
  const report = join(out, 'minimal-report.html')
  t.ok(build.stdout.split('\n').includes(report), 'prints the report path with the other outputs')
  t.match(build.stderr, /booting .*minimal-kernel \(kernel\+initrd\) with SeaBIOS under (tcg|kvm) to time it/, 'says it boots the image')

  const page = await dumpDom(report)
  t.equal(page.code, 0, `chromium renders the page\n${page.stderr.slice(-2000)}`)
  const dom = page.dom
  t.match(dom, /<p class="note" id="boot-status" data-status="done">All services started [0-9.]+ s after the kernel started\.<\/p>/)
  t.same(missingMilestones(dom), [], 'every milestone is in the timeline table')
  t.match(dom, /<p class="note" id="booted" data-file="minimal-kernel" data-firmware="SeaBIOS">Booted minimal-kernel \(kernel\+initrd\) with SeaBIOS \(BIOS\), under (tcg|kvm);/)
  const fw = firmwareRow(dom)
  t.equal(fw?.[0], 'before the kernel: SeaBIOS', 'the time before the kernel is a row of its own')
  t.ok(fw !== undefined && fw[1] > 0 && fw[1] < 60, `and took a little time (${fw?.[1]} s)`)

  // Each time is the console's own stamp, and the console is in the page too.
  const rows = eventRows(dom)
  const consoleText = /<pre id="console">([^]*?)<\/pre>/.exec(dom)?.[1] ?? ''
  for (const [kind, name, at] of rows.filter((r) => r[0] === 'onboot' || r[0] === 'service' || r[0] === 'services')) {
    t.ok(consoleText.includes(`[init ${at}] `), `${kind} ${name} at ${at} s is the stamp of an init line on the console`)
  }
  const times = rows.filter((r) => ['init', 'onboot', 'service', 'services'].includes(r[0])).map((r) => Number(r[2]))
  t.same(times, [...times].sort((a, b) => a - b), 'init, onboot, service and all-services times only go up')
  t.ok(times[0]! > 0, 'init starts after the kernel')
  t.equal((dom.match(/<g class="event"/g) ?? []).length, rows.length, 'the chart draws one row per table row')

  // Sizes: each component of the minimal image, the total, and the files written.
  const part = (kind: string, name?: string): number => {
    const m = new RegExp(`<tr class="part" data-kind="${kind}"${name ? ` data-name="${name}"` : ''} data-bytes="([0-9]+)">`).exec(dom)
    return m ? Number(m[1]) : -1
  }
  t.equal(part('kernel'), statSync(join(out, 'minimal-kernel')).size, 'the kernel row is the kernel file\'s size')
  t.ok(part('modules') > 1_000_000, 'kernel modules are megabytes')
  t.ok(part('init') > 100_000, 'init is there')
  t.ok(part('onboot', 'hello') > 100_000, 'onboot hello holds busybox')
  t.ok(part('service', 'greeter') > 0, 'service greeter is there')
  const total = Number(/<tr id="total" data-bytes="([0-9]+)">/.exec(dom)?.[1])
  const sum = [...dom.matchAll(/<tr class="part" [^>]*data-bytes="([0-9]+)">/g)].reduce((s, m) => s + Number(m[1]), 0)
  t.equal(total, sum, 'the total is the sum of the parts')
  t.match(dom, new RegExp(`<tr class="output" data-bytes="${statSync(join(out, 'minimal-initrd.img')).size}"><td>minimal-initrd\\.img</td>`), 'the compressed initrd with its size')
  t.notMatch(dom, /<script/i, 'no script in the page')

  // It renders to a picture too (the SVG is laid out, not only parsed).
  const shot = join(out, 'report.png')
  const s = await dumpDom(report, [`--screenshot=${shot}`, '--window-size=1100,1400'])
  t.equal(s.code, 0, 'chromium takes a screenshot')
  t.ok(statSync(shot).size > 10_000, 'the screenshot has something on it')
})

t.test('a format keel run cannot boot: sizes, and the timeline skipped with the reason', { skip: !chromium }, async (t) => {
  // Same folder and name: the first build's minimal-kernel and -initrd.img
  // are there, but this build did not write them, so they are not booted.
  const report = join(out, 'tar-report.html')
  const build = await keel(['build', '-o', out, '-f', 'tar', `--report=${report}`, 'examples/minimal.yml'])
  t.equal(build.code, 0, `keel build -f tar --report=FILE succeeds\n${build.stderr}`)
  t.match(build.stderr, /Boot timeline skipped: none of the formats built is one keel run qemu boots \(minimal\.tar: the root file system as a tar, not a bootable image\)/, 'warns that the timeline was skipped, and why')
  t.notMatch(build.stderr, /booting/, 'nothing is booted')
  const { code, dom } = await dumpDom(report)
  t.equal(code, 0)
  t.match(dom, /data-status="skipped">Boot timeline skipped: none of the formats built is one keel run qemu boots \(minimal\.tar: [^<]*\)\. Add -f kernel\+initrd to time the boot\.<\/p>/)
  t.notMatch(dom, /id="booted"/, 'nothing is named as booted')
  t.match(dom, /<tr class="part" data-kind="onboot" data-name="hello" data-bytes="[1-9][0-9]*">/, 'the sizes are there')
  t.match(dom, /<tr class="output" data-bytes="[1-9][0-9]*"><td>minimal\.tar<\/td>/)

  // Negative control: the timeline check of the first test fails on this page.
  t.same(missingMilestones(dom), ['kernel', 'kernel', 'init', 'onboot hello', 'service greeter', 'services'], 'the milestone check can fail')
})

t.test('UEFI formats only: the raw disk is booted with OVMF, whose time is a row of the timeline', { skip: !chromium }, async (t) => {
  const efi = join(out, 'efi')
  const build = await keel(['build', '-o', efi, '-f', 'iso-efi', '-f', 'raw-efi', '--report', '--report-timeout', '240', 'examples/minimal.yml'])
  t.equal(build.code, 0, `keel build -f iso-efi -f raw-efi --report succeeds\n${build.stderr}`)
  t.match(build.stderr, /booting .*minimal-efi\.img \(UEFI raw disk\) with OVMF under (tcg|kvm) to time it/, 'boots the raw disk, the cheaper of the two, with OVMF')
  const { code, dom } = await dumpDom(join(efi, 'minimal-report.html'))
  t.equal(code, 0)
  t.match(dom, /data-status="done">All services started [0-9.]+ s after the kernel started\.<\/p>/)
  t.match(dom, /<p class="note" id="booted" data-file="minimal-efi\.img" data-firmware="OVMF">Booted minimal-efi\.img \(UEFI raw disk\) with OVMF \(UEFI firmware\), under (tcg|kvm);/, 'the page says what was booted, with which firmware')
  t.same(missingMilestones(dom), [], 'every milestone is in the timeline table')
  const fw = firmwareRow(dom)
  t.equal(fw?.[0], 'before the kernel: OVMF, boot loader', 'OVMF\'s time is a row of its own')
  t.ok(fw !== undefined && fw[1] > 0.5, `before the kernel's: OVMF took ${fw?.[1]} s`)
  t.match(dom, /<g class="event" data-kind="firmware">/, 'and is drawn in the chart')
  t.match(dom, /<pre id="console">[^]*BdsDxe: starting Boot[^]*Linux version/, 'OVMF\'s lines come before the kernel\'s on the console')
  // Negative control: the kernel+initrd page of the first test has no OVMF row.
  const first = await dumpDom(join(out, 'minimal-report.html'))
  t.not(firmwareRow(first.dom)?.[0], fw?.[0], 'the firmware check can fail')
})

t.test('a name or console line with <script> stays text in the browser', { skip: !chromium }, async (t) => {
  // The manifest's name rules keep markup out of container names, so the
  // page is rendered here directly, as if they did not.
  const evil = '<script>document.title="pwned"</script><b>bold</b>'
  const file = join(out, 'evil.html')
  writeFileSync(file, renderReport({
    name: 'evil', keelVersion: 'test', formats: ['kernel+initrd'],
    parts: [{ kind: 'service', name: evil, label: `service ${evil}`, bytes: 10, files: 1 }],
    outputs: [],
    boot: { status: 'done', note: 'ok', console: `web: ${evil}\n`, timeline: { complete: true, events: [{ kind: 'service', at: 1, name: evil, label: `service ${evil}`, ok: true, line: '' }] } },
  }))
  const { code, dom } = await dumpDom(file)
  t.equal(code, 0)
  t.notMatch(dom, /<script/i, 'no script element in the DOM')
  t.notMatch(dom, /<b>bold<\/b>/, 'no element made from the name')
  t.match(dom, /<title>keel build report: evil<\/title>/, 'the title is untouched')
  t.match(dom, /<td class="label">service &lt;script&gt;document\.title="pwned"&lt;\/script&gt;&lt;b&gt;bold&lt;\/b&gt;<\/td>/, 'the name shows as text')
  // Negative control: the same checks catch markup that was not escaped.
  writeFileSync(file, `<!DOCTYPE html><title>x</title><p>${evil}</p>`)
  const raw = await dumpDom(file)
  t.match(raw.dom, /<script/i, 'an unescaped name does become a script element')
  t.match(readFileSync(file, 'utf8'), /<b>bold<\/b>/)
})
