// The report as one self-contained HTML page: inline CSS and SVG, no
// script, nothing fetched. The same data gives the same bytes. Every name in
// it comes from the user (image, container, file names) or the guest (the
// console), so every text and attribute goes through escapeHtml.
import type { BootEvent, BootTimeline } from './events.js'
import type { PartKind, SizePart } from './sizes.js'

export type FirmwareName = 'SeaBIOS' | 'OVMF'

/** The output that was booted, and how. */
export interface BootedImage {
  /** Its file's base name (the kernel, for kernel+initrd). */
  file: string
  /** What it is, in words: "kernel+initrd", "UEFI raw disk", "BIOS ISO"... */
  what: string
  /** SeaBIOS (QEMU's default, which also loads a kernel+initrd) or OVMF (UEFI). */
  firmware: FirmwareName
  accel: string
}

export interface BootOutcome {
  /**
   * done: init's "all services started" line came; timeout: it did not come
   * in time; exited: QEMU stopped first; skipped: no boot was tried.
   */
  status: 'done' | 'timeout' | 'exited' | 'skipped'
  /** Why it was skipped or how it ended, in words. */
  note: string
  booted?: BootedImage
  timeline?: BootTimeline
  /**
   * Host seconds from QEMU's start to the kernel's (the firmware and the
   * boot loader), estimated from when the kernel's lines arrived.
   */
  firmwareSeconds?: number
  /** Host seconds from QEMU's start to the end of the boot (or the timeout). */
  hostSeconds?: number
  /** The console as read, control characters removed. */
  console?: string
}

export interface ReportData {
  name: string
  keelVersion: string
  formats: string[]
  parts: SizePart[]
  /** The files the build wrote (base names) and their sizes. */
  outputs: Array<{ file: string; bytes: number }>
  boot: BootOutcome
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
}

/** 1536 → "1.5 KiB"; below 1 KiB in bytes. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let v = n / 1024
  let u = 0
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024
    u++
  }
  return `${v.toFixed(1)} ${units[u]!}`
}

const seconds = (t: number): string => t.toFixed(3)

const partColors: Record<PartKind, string> = {
  kernel: '#4e79a7', modules: '#76b7b2', init: '#f28e2b', onboot: '#59a14f', onshutdown: '#9c755f',
  service: '#e15759', volume: '#b07aa1', files: '#edc948', other: '#bab0ac',
}

type RowKind = BootEvent['kind'] | 'firmware'

const eventColors: Record<RowKind, string> = {
  firmware: '#bab0ac', kernel: '#4e79a7', initramfs: '#76b7b2', 'kernel-done': '#4e79a7', init: '#f28e2b', root: '#f28e2b',
  modules: '#76b7b2', onboot: '#59a14f', service: '#e15759', services: '#e15759',
}

const style = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; width: 100%; margin: .5em 0; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #eee; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.failed td { color: #b00; }
#events td.num, #events th.num { width: 6em; }
.bar { height: 12px; min-width: 1px; }
.note { color: #555; }
.warn { color: #b00; }
svg text { font: 12px system-ui, sans-serif; fill: #222; }
svg .axis { stroke: #ccc; }
pre { background: #f6f6f6; padding: 8px; overflow-x: auto; font-size: 12px; max-height: 40em; }
`

/** A row of the chart and table: a span (from → at) or a moment (at). */
interface ChartRow {
  kind: RowKind
  label: string
  name?: string
  at: number
  from: number | undefined
  ok: boolean
}

/** The label of the span before the kernel: QEMU loads a kernel+initrd itself, without a boot loader. */
function firmwareLabel(booted: BootedImage): string {
  return booted.what.startsWith('kernel+initrd') ? `before the kernel: ${booted.firmware}` : `before the kernel: ${booted.firmware}, boot loader`
}

/**
 * The events, with the kernel's part (its start to init's first line) as a
 * row of its own, and the firmware's before it, at negative times.
 */
function chartRows(boot: BootOutcome): ChartRow[] {
  const events = boot.timeline?.events ?? []
  const kernelAt = events.find((e) => e.kind === 'kernel')?.at ?? 0
  const rows: ChartRow[] = []
  if (boot.booted !== undefined && boot.firmwareSeconds !== undefined && events.length > 0) {
    rows.push({ kind: 'firmware', label: firmwareLabel(boot.booted), at: 0, from: -boot.firmwareSeconds, ok: true })
  }
  let firstInit = true
  for (const e of events) {
    if (e.kind === 'init' && firstInit) {
      firstInit = false
      rows.push({ kind: 'kernel', label: 'kernel, until init started', at: e.at, from: kernelAt, ok: true })
    }
    rows.push({ kind: e.kind, label: e.label, ...(e.name === undefined ? {} : { name: e.name }), at: e.at, from: e.from, ok: e.ok })
  }
  return rows
}

/** A step for axis ticks: about 8 of them over `max` seconds. */
function tickStep(max: number): number {
  const raw = max / 8
  const p = 10 ** Math.floor(Math.log10(raw))
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p
  return 10 * p
}

function renderChart(boot: BootOutcome): string {
  const rows = chartRows(boot)
  const labelW = 260
  const plotW = 620
  const rowH = 20
  const top = 24
  const max = Math.max(...rows.map((e) => e.at), 0.001)
  const min = Math.min(...rows.map((e) => e.from ?? 0), 0)
  const step = tickStep(max - min)
  const end = Math.ceil(max / step) * step
  const start = Math.floor(min / step) * step
  const x = (t: number): number => labelW + ((t - start) / (end - start)) * plotW
  const height = top + rows.length * rowH + 8
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${labelW + plotW + 80}" height="${height}" role="img" aria-label="boot timeline">`]
  // Ticks counted in steps, so that 0 is always one, exactly.
  for (let i = Math.round(start / step); i * step <= end + step / 2; i++) {
    const t = i * step
    const tx = x(t).toFixed(1)
    out.push(`<line class="axis" x1="${tx}" y1="${top - 6}" x2="${tx}" y2="${height - 4}"/>`)
    out.push(`<text x="${tx}" y="${top - 10}" text-anchor="middle">${Number(t.toFixed(6))} s</text>`)
  }
  rows.forEach((event, i) => {
    const from = event.from
    const y = top + i * rowH
    const color = event.ok ? eventColors[event.kind] : '#b00'
    out.push(`<g class="event" data-kind="${event.kind}">`)
    // The chart's label column is narrow; the table below has the whole label.
    const short = event.label.length > 38 ? `${event.label.slice(0, 37)}\u2026` : event.label
    out.push(`<text x="${labelW - 8}" y="${y + 14}" text-anchor="end">${escapeHtml(short)}</text>`)
    if (from !== undefined && event.at > from) {
      const w = Math.max(x(event.at) - x(from), 1)
      out.push(`<rect x="${x(from).toFixed(1)}" y="${y + 4}" width="${w.toFixed(1)}" height="12" fill="${color}"><title>${escapeHtml(`${event.label}: ${seconds(from)} s to ${seconds(event.at)} s`)}</title></rect>`)
    } else {
      const cx = x(event.at)
      out.push(`<path d="M${cx.toFixed(1)} ${y + 3}l6 7l-6 7l-6 -7z" fill="${color}"><title>${escapeHtml(`${event.label} at ${seconds(event.at)} s`)}</title></path>`)
    }
    // The firmware's span always ends at 0: what it took says more.
    const said = event.kind === 'firmware' && from !== undefined ? `took ${seconds(event.at - from)} s` : `${seconds(event.at)} s`
    out.push(`<text x="${(x(event.at) + 9).toFixed(1)}" y="${y + 14}">${said}</text>`)
    out.push('</g>')
  })
  out.push('</svg>')
  return out.join('\n')
}

function renderEventTable(boot: BootOutcome): string {
  const rows = chartRows(boot).map((event) => {
    const took = event.from === undefined ? '' : seconds(event.at - event.from)
    const name = event.name === undefined ? '' : ` data-name="${escapeHtml(event.name)}"`
    return `<tr class="event${event.ok ? '' : ' failed'}" data-kind="${event.kind}"${name}>` +
      `<td class="num time">${seconds(event.at)}</td><td class="num">${took}</td><td class="label">${escapeHtml(event.label)}</td></tr>`
  })
  return `<table id="events">\n<thead><tr><th class="num">at (s)</th><th class="num">took (s)</th><th>event</th></tr></thead>\n<tbody>\n${rows.join('\n')}\n</tbody>\n</table>`
}

function renderBoot(boot: BootOutcome): string {
  const out: string[] = ['<section id="timeline">', '<h2>Boot timeline</h2>']
  const statusClass = boot.status === 'done' ? 'note' : 'warn'
  out.push(`<p class="${statusClass}" id="boot-status" data-status="${boot.status}">${escapeHtml(boot.note)}</p>`)
  if (boot.booted !== undefined) {
    const b = boot.booted
    const uefi = b.firmware === 'OVMF' ? ' (UEFI firmware)' : ' (BIOS)'
    const host = boot.hostSeconds === undefined ? '' : `; ${seconds(boot.hostSeconds)} s on the host's clock from QEMU's start`
    const before = boot.firmwareSeconds === undefined ? ''
      : ` The first row, at negative times, is what ran before the kernel: from QEMU's start to the kernel's, on the host's clock (estimated from when the kernel's first lines reached the console).`
    out.push(`<p class="note" id="booted" data-file="${escapeHtml(b.file)}" data-firmware="${b.firmware}">` +
      `Booted ${escapeHtml(b.file)} (${escapeHtml(b.what)}) with ${b.firmware}${uefi}, under ${escapeHtml(b.accel)}${host}. ` +
      `Times are seconds since the kernel started, from the kernel's and init's console stamps. An onboot container's bar starts at init's line before it.${before}</p>`)
  }
  const events = boot.timeline?.events ?? []
  if (events.length > 0) {
    out.push(renderChart(boot))
    out.push(renderEventTable(boot))
  } else if (boot.status !== 'skipped') {
    out.push('<p class="warn">No boot milestones were found on the console.</p>')
  }
  if (boot.console !== undefined) {
    const lines = boot.console.split('\n')
    const cap = 3000
    const shown = lines.length > cap ? [...lines.slice(0, cap), `... ${lines.length - cap} more lines`] : lines
    out.push(`<details><summary>Console (${lines.length} lines)</summary><pre id="console">${escapeHtml(shown.join('\n'))}</pre></details>`)
  }
  out.push('</section>')
  return out.join('\n')
}

function renderSizes(parts: SizePart[], outputs: ReportData['outputs']): string {
  const total = parts.reduce((s, p) => s + p.bytes, 0)
  const files = parts.reduce((s, p) => s + p.files, 0)
  const max = Math.max(...parts.map((p) => p.bytes), 1)
  const rows = parts.map((p) => {
    const share = total === 0 ? 0 : (100 * p.bytes) / total
    const name = p.name === undefined ? '' : ` data-name="${escapeHtml(p.name)}"`
    return `<tr class="part" data-kind="${p.kind}"${name} data-bytes="${p.bytes}">` +
      `<td class="label">${escapeHtml(p.label)}</td><td class="num">${p.files}</td><td class="num size">${formatBytes(p.bytes)}</td>` +
      `<td class="num">${share.toFixed(1)} %</td>` +
      `<td style="width:40%"><div class="bar" style="width:${((100 * p.bytes) / max).toFixed(2)}%;background:${partColors[p.kind]}"></div></td></tr>`
  })
  const out: string[] = ['<section id="sizes">', '<h2>Size by component</h2>']
  out.push('<p class="note">Bytes of regular files in the root filesystem, uncompressed, before any output format packs them (the output files below are what it packs to). A hard link counts once; an image that several containers use is unpacked once, and counted with the first of them.</p>')
  out.push('<table id="parts">')
  out.push('<thead><tr><th>component</th><th class="num">files</th><th class="num">size</th><th class="num">share</th><th></th></tr></thead>')
  out.push(`<tbody>\n${rows.join('\n')}\n</tbody>`)
  out.push(`<tfoot><tr id="total" data-bytes="${total}"><th>total</th><th class="num">${files}</th><th class="num">${formatBytes(total)}</th><th></th><th></th></tr></tfoot>`)
  out.push('</table>')
  if (outputs.length > 0) {
    out.push('<h2>Output files</h2>')
    out.push('<table id="outputs">')
    out.push('<thead><tr><th>file</th><th class="num">size</th></tr></thead><tbody>')
    for (const o of outputs) {
      out.push(`<tr class="output" data-bytes="${o.bytes}"><td>${escapeHtml(o.file)}</td><td class="num">${formatBytes(o.bytes)}</td></tr>`)
    }
    out.push('</tbody></table>')
  }
  out.push('</section>')
  return out.join('\n')
}

/** The whole page. */
export function renderReport(data: ReportData): string {
  const title = `keel build report: ${data.name}`
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    // Nothing may load or run: no script, no image, no font, no request.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    `<title>${escapeHtml(title)}</title>`,
    `<style>${style}</style>`,
    '</head>',
    '<body>',
    `<h1>${escapeHtml(title)}</h1>`,
    `<p class="note">Built by keel ${escapeHtml(data.keelVersion)}; formats: ${escapeHtml(data.formats.join(', '))}.</p>`,
    renderBoot(data.boot),
    renderSizes(data.parts, data.outputs),
    '</body>',
    '</html>',
    '',
  ].join('\n')
}
