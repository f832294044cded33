// Watching a serial console for expected lines, in order. Used by boot tests:
// feed it the console as it arrives; it reports the first expected line that
// has not been seen, so a failing test says what never came.

export interface ConsoleMatch {
  ok: boolean
  /** Expected lines seen, in order. */
  seen: string[]
  /** The first expected line that has not appeared (after the ones before it). */
  missing: string | undefined
}

export class ConsoleMatcher {
  private readonly expected: readonly (string | RegExp)[]
  private next = 0
  private partial = ''
  private readonly lines: string[] = []
  private readonly waiters: Array<() => void> = []

  private readonly matchPartial: boolean

  /**
   * With `matchPartial`, the unfinished last line counts too: for prompts,
   * which end without a newline.
   */
  constructor(expected: readonly (string | RegExp)[], options: { matchPartial?: boolean } = {}) {
    this.expected = expected
    this.matchPartial = options.matchPartial === true
  }

  /** Feeds console output; returns true once every expected line has been seen. */
  push(chunk: string | Buffer): boolean {
    this.partial += typeof chunk === 'string' ? chunk : chunk.toString('utf8')
    const parts = this.partial.split(/\r?\n/)
    this.partial = parts.pop() ?? ''
    for (const raw of parts) this.consider(raw)
    if (this.matchPartial && this.partial !== '' && this.matches(this.clean(this.partial))) this.advance()
    return this.done
  }

  /** Flushes a last line without a newline. */
  end(): void {
    if (this.partial !== '') this.consider(this.partial)
    this.partial = ''
  }

  get done(): boolean {
    return this.next >= this.expected.length
  }

  /** Every complete line seen so far (control characters removed). */
  get transcript(): string {
    return this.lines.join('\n')
  }

  result(): ConsoleMatch {
    const seen = this.expected.slice(0, this.next).map(String)
    const missing = this.done ? undefined : String(this.expected[this.next])
    return { ok: this.done, seen, missing }
  }

  /** Resolves when every expected line has been seen. */
  whenDone(): Promise<void> {
    if (this.done) return Promise.resolve()
    return new Promise((resolve) => this.waiters.push(resolve))
  }

  private clean(raw: string): string {
    // eslint-disable-next-line no-control-regex
    return raw.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/[\x00-\x08\x0b-\x1f]/g, '')
  }

  private matches(line: string): boolean {
    const want = this.expected[this.next]
    if (want === undefined) return false
    return typeof want === 'string' ? line.includes(want) : want.test(line)
  }

  private advance(): void {
    this.next++
    if (this.done) for (const w of this.waiters.splice(0)) w()
  }

  private consider(raw: string): void {
    const line = this.clean(raw)
    this.lines.push(line)
    if (this.matches(line)) this.advance()
  }
}
