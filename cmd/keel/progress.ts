// Download progress on a terminal: one line per image, redrawn in place.
// Quiet (no output at all) when stderr is not a terminal.
import type { ProgressEvent } from '../../pkg/store/index.js'
import type { CliIO } from './io.js'

export function createProgress(io: CliIO): ((ev: ProgressEvent) => void) | undefined {
  if (!io.stderr.isTTY || io.log.level === 'warn' || io.log.level === 'silent') return undefined
  const blobs = new Map<string, { done: number; total: number }>()
  let lastDraw = 0
  let lastRef = ''
  return (ev) => {
    blobs.set(`${ev.ref} ${ev.digest}`, { done: ev.done, total: ev.total })
    const now = Date.now()
    const finished = ev.state === 'done' || ev.state === 'cached'
    if (!finished && now - lastDraw < 100 && ev.ref === lastRef) return
    lastDraw = now
    lastRef = ev.ref
    let done = 0
    let total = 0
    let count = 0
    let complete = 0
    for (const [key, b] of blobs) {
      if (!key.startsWith(`${ev.ref} `)) continue
      done += b.done
      total += b.total
      count++
      if (b.done >= b.total) complete++
    }
    const pct = total === 0 ? 100 : Math.floor((done / total) * 100)
    const width = 24
    const filled = Math.round((pct / 100) * width)
    io.stderr.write(`\r\x1b[2K${ev.ref} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct}% ${formatBytes(done)}/${formatBytes(total)} (${complete}/${count} blobs)`)
    if (complete === count && finished) io.stderr.write('\n')
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`
  return `${(n / 1024 ** 3).toFixed(2)} GiB`
}
