// Console lines that fail a boot test whatever the expected lines say: the
// kernel's own reports of a bug, and keel's init reporting a service that
// crashed or keeps crashing. A case allows one with the label `allow-ID`, a
// run with `keel test --allow ID`.

export interface FailurePattern {
  id: string
  /** What it means, for the report. */
  description: string
  regex: RegExp
}

export const failurePatterns: readonly FailurePattern[] = [
  { id: 'panic', description: 'kernel panic', regex: /Kernel panic - not syncing/ },
  // The kernel's die(): "Oops: 0002 [#1] SMP", "Oops: general protection fault ...".
  { id: 'oops', description: 'kernel oops', regex: /\bOops: / },
  // "BUG: kernel NULL pointer dereference", "BUG: soft lockup", "BUG: KASAN: ...".
  { id: 'bug', description: 'kernel BUG', regex: /\bBUG: / },
  { id: 'warning', description: 'kernel warning (WARN_ON)', regex: /\bWARNING: CPU: \d+ PID: \d+/ },
  // The kernel's report of a user process that faulted (show_unhandled_signals).
  { id: 'segfault', description: 'a process segfaulted', regex: /\bsegfault at [0-9a-f]+ ip |\btraps: \S+ (general protection|invalid opcode|divide error)/ },
  // keel's init: "service NAME exited (killed by signal 11); restarting in 0.1 s",
  // "onboot NAME FAILED (killed by signal 11)". SIGILL, SIGABRT, SIGBUS, SIGFPE, SIGSEGV.
  { id: 'crash-signal', description: 'a container ended by a crash signal', regex: /\[init [0-9.]+\] (service|onboot|onshutdown) \S+ (exited|FAILED|stopped) \(killed by signal (4|6|7|8|11)\)/ },
  { id: 'oom', description: 'the OOM killer killed a process', regex: /\bOut of memory: Kill|\binvoked oom-killer\b|\bMemory cgroup out of memory\b/ },
  // Init's own threshold: five quick exits in a row (images/init/README.md).
  { id: 'crash-loop', description: 'a service is crash-looping', regex: /\[init [0-9.]+\] service \S+ is crash-looping/ },
  { id: 'onboot-failed', description: 'an onboot container failed', regex: /\[init [0-9.]+\] onboot \S+ FAILED/ },
]

export const failurePatternIds: readonly string[] = failurePatterns.map((p) => p.id)

export interface FailureHit {
  pattern: FailurePattern
  /** The console line (1-based) and its text. */
  lineNumber: number
  line: string
}

/** Checks console lines one at a time against the patterns not allowed. */
export class FailureScanner {
  private readonly active: readonly FailurePattern[]
  private count = 0
  private first: FailureHit | undefined

  constructor(allowed: Iterable<string> = []) {
    const skip = new Set(allowed)
    this.active = failurePatterns.filter((p) => !skip.has(p.id))
  }

  /** Scans one complete line; returns a hit when it matches a pattern. */
  scan(line: string): FailureHit | undefined {
    this.count++
    const pattern = this.active.find((p) => p.regex.test(line))
    if (!pattern) return undefined
    const hit = { pattern, lineNumber: this.count, line }
    this.first ??= hit
    return hit
  }

  /** The first hit, if any. */
  get hit(): FailureHit | undefined {
    return this.first
  }
}

/** The pattern ids a case may ignore: its `allow-ID` labels plus the run's --allow list. */
export function allowedPatterns(labels: readonly string[], runAllow: readonly string[]): string[] {
  const fromLabels = labels.filter((l) => l.startsWith('allow-')).map((l) => l.slice('allow-'.length))
  return [...new Set([...fromLabels, ...runAllow])].filter((id) => failurePatternIds.includes(id))
}
