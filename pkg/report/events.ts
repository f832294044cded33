// A serial console, as text, → the boot's milestones with their times. Two
// clocks are read, and they agree: the kernel's printk stamps
// ("[    2.571742] Run /init as init process") and keel init's own lines
// ("[init 3.814] onboot hello done (exit 0)"), whose number is seconds of
// CLOCK_MONOTONIC, which counts from the kernel's start too
// (images/init/README.md, "Boot timestamps"). Everything else on the
// console — service output, which init prefixes with the service's name —
// is ignored, so a service cannot forge an event by printing one.

export type BootEventKind =
  | 'kernel' // the kernel started ("Linux version ...")
  | 'initramfs' // the kernel unpacked the initramfs (a span)
  | 'kernel-done' // the kernel ran /init
  | 'init' // keel's init started (again, on a root device)
  | 'root' // init switched root (a span when it says how long it took)
  | 'modules' // kernel modules loaded (a span)
  | 'onboot' // an onboot container ended (a span from the init line before it)
  | 'service' // a service started (or was restarted)
  | 'services' // every service has been started

export interface BootEvent {
  kind: BootEventKind
  /** Seconds since the kernel started. */
  at: number
  /** Start of the span that ends at `at`, when the event is one. */
  from?: number
  /** What happened, in words, for the report. */
  label: string
  /** The container's name, for onboot and service events. */
  name?: string
  /** False for an onboot container that failed, or a restart. */
  ok: boolean
  /** The console line it came from (control characters removed). */
  line: string
}

export interface BootTimeline {
  events: BootEvent[]
  /** Whether init's "all services started" line was seen. */
  complete: boolean
}

const kernelLine = /^\[\s*([0-9]+\.[0-9]+)\] (.*)$/
const initLine = /^\[init ([0-9]+\.[0-9]+)\] (.*)$/

/** Removes terminal escapes, carriage returns and other control characters. */
export function cleanLine(raw: string): string {
  // eslint-disable-next-line no-control-regex
  return raw.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '')
}

/** Milliseconds in a message such as "... in 628 ms", as seconds. */
function tookSeconds(message: string): number | undefined {
  const m = / in ([0-9]+) ms\b/.exec(message)
  return m ? Number(m[1]) / 1000 : undefined
}

/**
 * Reads the boot's milestones from a console transcript, in the order they
 * appear. Lines cut short or mangled are skipped; a console with none of
 * these lines gives an empty list.
 */
export function parseBootConsole(text: string): BootTimeline {
  const events: BootEvent[] = []
  let complete = false
  let unpackFrom: number | undefined
  // The time of init's previous line: where the next onboot container began.
  let lastInit: number | undefined
  let initStarts = 0
  const span = (at: number, took: number | undefined): { from?: number } =>
    took === undefined ? {} : { from: Math.max(0, Number((at - took).toFixed(6))) }

  for (const raw of text.split('\n')) {
    const line = cleanLine(raw)
    const k = kernelLine.exec(line)
    if (k) {
      const at = Number(k[1])
      const msg = k[2]!
      if (msg.startsWith('Linux version ')) {
        events.push({ kind: 'kernel', at, label: 'kernel started', ok: true, line })
      } else if (msg.startsWith('Trying to unpack rootfs image as initramfs')) {
        unpackFrom = at
      } else if (msg.startsWith('Freeing initrd memory') && unpackFrom !== undefined) {
        events.push({ kind: 'initramfs', at, from: unpackFrom, label: 'initramfs unpacked', ok: true, line })
        unpackFrom = undefined
      } else if (/^Run \S+ as init process/.test(msg)) {
        events.push({ kind: 'kernel-done', at, label: 'kernel runs init', ok: true, line })
      }
      continue
    }
    const i = initLine.exec(line)
    if (!i) continue
    const at = Number(i[1])
    const msg = i[2]!
    let m: RegExpExecArray | null
    if (msg.startsWith('init started')) {
      // A kernel+squashfs/erofs/iso image starts init twice: once on the
      // initramfs to find the root device, once more from that root.
      initStarts++
      const label = initStarts === 1 ? 'init started' : 'init started again, from the root device'
      events.push({ kind: 'init', at, label, ok: true, line })
    } else if (msg.startsWith('root switched to tmpfs')) {
      events.push({ kind: 'root', at, ...span(at, tookSeconds(msg)), label: 'root moved to tmpfs', ok: true, line })
    } else if ((m = /^root: (\S+) on (\S+) \(/.exec(msg))) {
      // kernel+squashfs/erofs/iso: the time is from the search's start.
      events.push({ kind: 'root', at, ...span(at, tookSeconds(msg)), label: `root found: ${m[1]!} on ${m[2]!}`, ok: true, line })
    } else if (msg.startsWith('root: switched')) {
      events.push({ kind: 'root', at, label: 'switched to the root device', ok: true, line })
    } else if (msg.startsWith('modules loaded:')) {
      const count = /^modules loaded: ([0-9]+)/.exec(msg)
      events.push({ kind: 'modules', at, ...span(at, tookSeconds(msg)), label: `${count ? count[1] : 'some'} kernel modules loaded`, ok: true, line })
    } else if ((m = /^onboot (\S+) (done|FAILED)\b(.*)$/.exec(msg))) {
      const ok = m[2] === 'done'
      const detail = m[3]!.replace(/^[:\s]+/, '').replace(/^\((.*)\)$/, '$1')
      events.push({
        kind: 'onboot', at, ...(lastInit === undefined ? {} : { from: lastInit }), name: m[1]!,
        label: `onboot ${m[1]!} ${ok ? 'done' : 'FAILED'}${detail ? ` (${detail})` : ''}`, ok, line,
      })
    } else if ((m = /^service (\S+) (started|restarted) \(pid [0-9]+(, restart [0-9]+)?\)$/.exec(msg))) {
      const ok = m[2] === 'started'
      events.push({ kind: 'service', at, name: m[1]!, label: `service ${m[1]!} ${m[2]!}`, ok, line })
    } else if ((m = /^all services started \(([0-9]+) of ([0-9]+)\)/.exec(msg))) {
      events.push({ kind: 'services', at, label: `all services started (${m[1]!} of ${m[2]!})`, ok: m[1] === m[2], line })
      complete = true
    }
    lastInit = at
  }
  return { events, complete }
}
