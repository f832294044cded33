// The firmware's share of a boot, which no console stamp shows: the kernel's
// clock starts at 0 when the kernel does, so what ran before it (SeaBIOS or
// OVMF, and the boot loader) is only visible on the host's clock. Each
// console line is stamped on arrival with the host's seconds since QEMU
// started; a kernel line stamped t that arrived at h says the kernel started
// at h - t or earlier (a line reaches the host after it is printed), so the
// smallest h - t is the estimate. Lines the kernel keeps until its console is
// up arrive late, in a burst, and only make h - t larger: they do not skew
// the minimum.
import { cleanLine } from './events.js'

export interface TimedLine {
  /** Host seconds since QEMU started, when the line's end arrived. */
  host: number
  /** The line, control characters removed. */
  text: string
}

/** Splits console output into lines, each stamped with its arrival time. */
export class LineClock {
  private partial = ''
  readonly lines: TimedLine[] = []

  push(chunk: string, host: number): void {
    const parts = (this.partial + chunk).split('\n')
    this.partial = parts.pop() ?? ''
    for (const p of parts) this.lines.push({ host, text: cleanLine(p) })
  }
}

const kernelStamp = /^\[\s*([0-9]+\.[0-9]+)\] (.*)$/

/**
 * Host seconds from QEMU's start to the kernel's, estimated from the kernel's
 * console lines up to the one that runs init (later lines are the guest's
 * clock over a longer stretch, which may drift from the host's). Undefined
 * when no kernel line came.
 */
export function estimateKernelStart(lines: readonly TimedLine[]): number | undefined {
  let best: number | undefined
  for (const { host, text } of lines) {
    const m = kernelStamp.exec(text)
    if (!m) continue
    const start = host - Number(m[1])
    if (best === undefined || start < best) best = start
    if (/^Run \S+ as init process/.test(m[2]!)) break
  }
  return best === undefined ? undefined : Math.max(0, Number(best.toFixed(3)))
}
