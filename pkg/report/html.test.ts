import t from 'tap'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseBootConsole } from './events.js'
import { escapeHtml, formatBytes, renderReport, type ReportData } from './html.js'

const here = dirname(fileURLToPath(import.meta.url))
const consoleText = readFileSync(join(here, 'testdata', 'minimal-console.txt'), 'utf8')

function data(over: Partial<ReportData> = {}): ReportData {
  return {
    name: 'minimal',
    keelVersion: '0.1.0',
    formats: ['kernel+initrd'],
    parts: [
      { kind: 'kernel', label: 'kernel', bytes: 14186432, files: 1 },
      { kind: 'service', name: 'greeter', label: 'service greeter', bytes: 3122, files: 2 },
    ],
    outputs: [{ file: 'minimal-initrd.img', bytes: 2837102 }],
    boot: {
      status: 'done', note: 'All services started 3.898 s after the kernel started.', booted: { file: 'minimal-kernel', what: 'kernel+initrd', firmware: 'SeaBIOS', accel: 'tcg' },
      timeline: parseBootConsole(consoleText), hostSeconds: 5.5, console: consoleText.replace(/\r/g, ''),
    },
    ...over,
  }
}

t.test('the page holds each milestone with its time and each part with its size', async (t) => {
  const html = renderReport(data())
  t.match(html, /^<!DOCTYPE html>/)
  t.match(html, /<tr class="event" data-kind="onboot" data-name="hello"><td class="num time">3\.814<\/td><td class="num">0\.189<\/td><td class="label">onboot hello done \(exit 0\)<\/td><\/tr>/)
  t.match(html, /<tr class="event" data-kind="kernel"><td class="num time">2\.666<\/td><td class="num">2\.666<\/td><td class="label">kernel, until init started<\/td><\/tr>/)
  t.match(html, /data-kind="services"><td class="num time">3\.898<\/td>/)
  t.match(html, /<tr class="part" data-kind="kernel" data-bytes="14186432"><td class="label">kernel<\/td><td class="num">1<\/td><td class="num size">13\.5 MiB<\/td>/)
  t.match(html, /<tr id="total" data-bytes="14189554">/)
  t.match(html, /<td>minimal-initrd\.img<\/td><td class="num">2\.7 MiB<\/td>/)
  t.match(html, /<svg [^>]*aria-label="boot timeline">/)
})

t.test('the page is self-contained: no script, no link, no URL to fetch', async (t) => {
  const html = renderReport(data())
  t.notMatch(html, /<script|<link|<img|<iframe|src=|href=|url\(/i)
  t.match(html, /Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'"/)
})

t.test('the same data gives the same bytes', async (t) => {
  t.equal(renderReport(data()), renderReport(data()))
})

t.test('names from the manifest and text from the guest are escaped', async (t) => {
  const evil = '<script>alert(1)</script>'
  const html = renderReport(data({
    name: 'a"b',
    parts: [{ kind: 'service', name: evil, label: `service ${evil}`, bytes: 1, files: 1 }],
    outputs: [{ file: `x${evil}.img`, bytes: 1 }],
    boot: {
      status: 'done', note: 'ok', booted: { file: `k${evil}`, what: evil, firmware: 'SeaBIOS', accel: 'tcg' }, firmwareSeconds: 1,
      timeline: parseBootConsole(`[init 1.000] service ${evil}" started (pid 5)\n`),
      console: `greeter: ${evil} & 'quotes'\n`,
    },
  }))
  t.notMatch(html, /<script/i, 'no script element anywhere')
  t.match(html, /data-name="&lt;script&gt;alert\(1\)&lt;\/script&gt;"/, 'escaped in attributes')
  t.match(html, /service &lt;script&gt;alert\(1\)&lt;\/script&gt;/, 'escaped in text')
  t.match(html, /<title>keel build report: a&quot;b<\/title>/)
  t.match(html, /greeter: &lt;script&gt;alert\(1\)&lt;\/script&gt; &amp; &#39;quotes&#39;/, 'the console too')
  // Negative control: the same check finds an unescaped script element.
  t.match(`<p>${evil}</p>`, /<script/i, 'the check can fail')
})

t.test('a skipped boot says why and draws no chart', async (t) => {
  const html = renderReport(data({ boot: { status: 'skipped', note: 'Boot timeline skipped: none of the formats built is one keel run qemu boots.' } }))
  t.match(html, /<p class="warn" id="boot-status" data-status="skipped">Boot timeline skipped: none of the formats/)
  t.notMatch(html, /<svg/)
  t.notMatch(html, /<table id="events">/)
  t.match(html, /<table id="parts">/, 'the sizes are there all the same')
})

t.test('a failed onboot container is marked', async (t) => {
  const html = renderReport(data({
    boot: { status: 'timeout', note: 'late', timeline: parseBootConsole('[init 1.000] hostname keel\n[init 2.000] onboot fmt FAILED (exit 1)\n') },
  }))
  t.match(html, /<tr class="event failed" data-kind="onboot" data-name="fmt">/)
  t.match(html, /fill="#b00"/)
  t.match(html, /data-status="timeout"/)
})

t.test('escapeHtml and formatBytes', async (t) => {
  t.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;')
  t.equal(formatBytes(0), '0 B')
  t.equal(formatBytes(1023), '1023 B')
  t.equal(formatBytes(1536), '1.5 KiB')
  t.equal(formatBytes(3 * 1024 ** 3), '3.0 GiB')
})

t.test('a long label is shortened in the chart, whole in the table', async (t) => {
  const label = 'onboot a-rather-long-container-name FAILED (still running after 8000 ms; killing it)'
  const html = renderReport(data({
    boot: { status: 'done', note: 'ok', timeline: { complete: false, events: [{ kind: 'onboot', at: 2, from: 1, name: 'x', label, ok: false, line: '' }] } },
  }))
  t.match(html, `text-anchor="end">${label.slice(0, 37)}\u2026</text>`)
  t.match(html, `<td class="label">${label}</td>`)
})

t.test('the firmware\'s time is a row of its own, before the kernel, at negative times', async (t) => {
  const html = renderReport(data({
    boot: {
      status: 'done', note: 'ok', timeline: parseBootConsole(consoleText), firmwareSeconds: 7.692,
      booted: { file: 'minimal-efi.img', what: 'UEFI raw disk', firmware: 'OVMF', accel: 'tcg' },
    },
  }))
  t.match(html, /<p class="note" id="booted" data-file="minimal-efi\.img" data-firmware="OVMF">Booted minimal-efi\.img \(UEFI raw disk\) with OVMF \(UEFI firmware\), under tcg\./)
  t.match(html, /<tbody>\n<tr class="event" data-kind="firmware"><td class="num time">0\.000<\/td><td class="num">7\.692<\/td><td class="label">before the kernel: OVMF, boot loader<\/td><\/tr>\n<tr class="event" data-kind="kernel">/)
  t.match(html, /<text x="[0-9.]+" y="14" text-anchor="middle">-8 s<\/text>/, 'the axis starts before 0')
  t.match(html, /<text x="[0-9.]+" y="14" text-anchor="middle">0 s<\/text>/, 'and has 0 on it')
  t.match(html, /<g class="event" data-kind="firmware">\n<text [^>]*>before the kernel: OVMF, boot loader<\/text>\n<rect [^>]*>.*\n<text [^>]*>took 7\.692 s<\/text>/, 'drawn as a bar, with what it took')
  // kernel+initrd: QEMU loads the kernel, no boot loader.
  const k = renderReport(data({ boot: { ...data().boot, firmwareSeconds: 0.8 } }))
  t.match(k, /data-kind="firmware"><td class="num time">0\.000<\/td><td class="num">0\.800<\/td><td class="label">before the kernel: SeaBIOS<\/td>/)
  // Without a measurement, no row.
  t.notMatch(renderReport(data()), /data-kind="firmware"/)
})
