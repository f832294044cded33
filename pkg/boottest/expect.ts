// A case's `expect` file: the lines that must appear on the console, in
// order, and what to type into the console between them. One item a line:
//
//   text            a console line must contain this text
//   /regex/flags    a console line must match this regular expression
//   prompt: text    as text, but the unfinished last line counts too (a shell
//                   prompt ends without a newline)
//   send: text      type text and Enter once everything above has been seen
//   run: command    run a host command (sh -c) once everything above has
//                   been seen; the case fails if it fails. Console lines
//                   that come while it runs are kept, and matched against
//                   the items after it once it has ended
//   powerdown:      press the ACPI power button (QMP system_powerdown)
//   kill:           cut the power: QEMU is killed at once
//   boot:           once this QEMU has ended (the guest powered off or was
//                   killed), boot the same machine again, same disks; the
//                   items after it are matched on the new boot's console
//   # ...           a comment; blank lines are ignored
//   \text           text, for a line that starts with "#", "/" or a keyword
//
// ExpectScript walks those items against console lines. It differs from
// pkg/run's ConsoleMatcher in one way that matters for prompts: only prompt
// items look at the unfinished line, and a line that satisfied a prompt is not
// offered to the next item again when it is completed.

export type ExpectItem =
  | { kind: 'text'; text: string; line: number }
  | { kind: 'regex'; regex: RegExp; line: number }
  | { kind: 'prompt'; text: string; line: number }
  | { kind: 'send'; text: string; line: number }
  | { kind: 'run'; text: string; line: number }
  | { kind: 'powerdown'; line: number }
  | { kind: 'kill'; line: number }
  | { kind: 'boot'; line: number }

/** The items that do something rather than wait for a console line. */
export type ActionItem = Extract<ExpectItem, { kind: 'send' | 'run' | 'powerdown' | 'kill' | 'boot' }>

const actionKinds: ReadonlySet<ExpectItem['kind']> = new Set(['send', 'run', 'powerdown', 'kill', 'boot'])

export function isAction(item: ExpectItem): item is ActionItem {
  return actionKinds.has(item.kind)
}

/** Parses an expect file; problems come back as "FILE:LINE: message". */
export function parseExpect(text: string, file: string): { items: ExpectItem[]; problems: string[] } {
  const items: ExpectItem[] = []
  const problems: string[] = []
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1
    const s = raw.trim()
    if (s === '' || s.startsWith('#')) return
    if (s.startsWith('\\')) {
      items.push({ kind: 'text', text: s.slice(1), line })
      return
    }
    const keyword = /^(send|prompt|run|powerdown|kill|boot):\s?(.*)$/.exec(raw.trimStart())
    if (keyword) {
      const kind = keyword[1]!
      // A send keeps its trailing spaces; a prompt's text is matched as a substring.
      const value = kind === 'send' ? keyword[2]! : keyword[2]!.trim()
      if (kind === 'powerdown' || kind === 'kill' || kind === 'boot') {
        if (value !== '') problems.push(`${file}:${line}: ${kind}: takes nothing after it`)
        else items.push({ kind, line })
      } else if (value === '' && kind !== 'send') problems.push(`${file}:${line}: ${kind}: needs ${kind === 'run' ? 'a command' : 'the text of the prompt'}`)
      else items.push({ kind: kind as 'send' | 'prompt' | 'run', text: value, line })
      return
    }
    const re = /^\/(.*)\/([a-z]*)$/.exec(s)
    if (re) {
      try {
        items.push({ kind: 'regex', regex: new RegExp(re[1]!, re[2]!.replace(/[gy]/g, '')), line })
      } catch (err) {
        problems.push(`${file}:${line}: ${(err as Error).message}`)
      }
      return
    }
    items.push({ kind: 'text', text: s, line })
  })
  if (problems.length === 0 && items.every(isAction)) {
    problems.push(`${file}: expects nothing; list at least one line the console must show`)
  }
  return { items, problems }
}

/** How an item reads in a report: the text quoted, a regex as written. */
export function describeItem(item: ExpectItem): string {
  switch (item.kind) {
    case 'text': return JSON.stringify(item.text)
    case 'regex': return String(item.regex)
    case 'prompt': return `prompt ${JSON.stringify(item.text)}`
    case 'send': return `send ${JSON.stringify(item.text)}`
    case 'run': return `run ${JSON.stringify(item.text)}`
    case 'powerdown': case 'kill': case 'boot': return `${item.kind}:`
  }
}

/** Removes terminal escape sequences and control characters from a console line. */
export function cleanConsoleLine(raw: string): string {
  // eslint-disable-next-line no-control-regex
  return raw.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\x1b[()][A-Za-z0-9]/g, '').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '')
}

/** Splits console output into complete, cleaned lines; keeps the unfinished one. */
export class LineSplitter {
  private rest = ''

  /** Feeds output; returns the lines it completed. */
  push(chunk: string): string[] {
    this.rest += chunk
    const parts = this.rest.split('\n')
    this.rest = parts.pop() ?? ''
    return parts.map(cleanConsoleLine)
  }

  /** The unfinished last line, cleaned. */
  get partial(): string {
    return cleanConsoleLine(this.rest)
  }

  /** Ends the output: the unfinished line, if any, as a last line. */
  end(): string[] {
    const last = this.rest
    this.rest = ''
    return last === '' ? [] : [cleanConsoleLine(last)]
  }
}

export class ExpectScript {
  private next = 0
  /**
   * The unfinished line already satisfied a prompt (it held `partialText`
   * then). When it is completed, what was typed after the prompt is the
   * echo of a send and is not offered to the next item; when nothing was
   * typed, the rest of the line after that text is (the guest can print an
   * expected line right after a prompt).
   */
  private partialUsed = false
  private partialText = ''
  private typedSincePrompt = false
  /**
   * At a `boot:` item, waiting for the next boot (console lines are dropped:
   * they are the old machine's), or at a `run:` item, waiting for its
   * command (console lines are held, and matched once it has ended).
   */
  private waiting: 'boot' | 'run' | undefined
  private held: string[] = []
  private readonly items: readonly ExpectItem[]
  private readonly send: (text: string) => void
  private readonly act: (item: ActionItem) => void

  /**
   * `send` types into the console; it is called as soon as the items before
   * it have been seen. `act` is called the same way for the other actions
   * (run, powerdown, kill, boot); after a `run:` or a `boot:` the script
   * waits for `resume()`.
   */
  constructor(items: readonly ExpectItem[], send: (text: string) => void, act: (item: ActionItem) => void = () => undefined) {
    this.items = items
    this.send = send
    this.act = act
  }

  /** Sends any leading `send:` items; call once the console is connected. */
  start(): void {
    this.flushSends()
  }

  get done(): boolean {
    return this.next >= this.items.length
  }

  /** The first item not yet seen, for a report. */
  get missing(): ExpectItem | undefined {
    return this.items[this.next]
  }

  /** Items seen so far (sends included). */
  get seen(): number {
    return this.next
  }

  /** What the script waits for before it goes on: a new boot, or a run: command's end. */
  get awaiting(): 'boot' | 'run' | undefined {
    return this.waiting
  }

  /**
   * The machine booted again after a `boot:`, or the `run:` command ended
   * well: go on past it. Lines held while the command ran are matched now.
   */
  resume(): void {
    const was = this.waiting
    if (was === undefined) return
    this.waiting = undefined
    if (was === 'boot') this.partialUsed = false
    this.advance()
    for (const line of this.held.splice(0)) this.line(line)
  }

  /** A complete console line. */
  line(line: string): void {
    if (this.waiting === 'boot') return
    if (this.waiting === 'run') {
      this.held.push(line)
      return
    }
    if (this.partialUsed) {
      this.partialUsed = false
      if (this.typedSincePrompt || !line.startsWith(this.partialText)) return
      line = line.slice(this.partialText.length)
      if (line === '') return
    }
    const item = this.items[this.next]
    if (item && !isAction(item) && this.matches(item, line)) this.advance()
  }

  /** The unfinished last line as it stands now. */
  partial(text: string): void {
    const item = this.items[this.next]
    if (text === '' || this.partialUsed || this.waiting || !item || item.kind !== 'prompt') return
    if (text.includes(item.text)) {
      this.partialUsed = true
      this.partialText = text
      this.typedSincePrompt = false
      this.advance()
    }
  }

  private matches(item: ExpectItem, line: string): boolean {
    if (item.kind === 'regex') return item.regex.test(line)
    if (item.kind === 'text' || item.kind === 'prompt') return line.includes(item.text)
    return false
  }

  private advance(): void {
    this.next++
    this.flushSends()
  }

  private flushSends(): void {
    for (let item = this.items[this.next]; item && isAction(item) && !this.waiting; item = this.items[this.next]) {
      if (item.kind === 'boot' || item.kind === 'run') {
        // Stays at this item until resume(): it counts as seen only then.
        this.waiting = item.kind
        this.act(item)
        return
      }
      this.next++
      if (item.kind === 'send') {
        this.typedSincePrompt = true
        this.send(`${item.text}\n`)
      } else this.act(item)
    }
  }
}
