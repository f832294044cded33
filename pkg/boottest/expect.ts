// A case's `expect` file: the lines that must appear on the console, in
// order, and what to type into the console between them. One item a line:
//
//   text            a console line must contain this text
//   /regex/flags    a console line must match this regular expression
//   prompt: text    as text, but the unfinished last line counts too (a shell
//                   prompt ends without a newline)
//   send: text      type text and Enter once everything above has been seen
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
    const keyword = /^(send|prompt):\s?(.*)$/.exec(raw.trimStart())
    if (keyword) {
      // A send keeps its trailing spaces; a prompt's text is matched as a substring.
      const value = keyword[1] === 'send' ? keyword[2]! : keyword[2]!.trim()
      if (value === '' && keyword[1] === 'prompt') problems.push(`${file}:${line}: prompt: needs the text of the prompt`)
      else items.push({ kind: keyword[1] as 'send' | 'prompt', text: value, line })
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
  if (problems.length === 0 && !items.some((it) => it.kind !== 'send')) {
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
  /** The unfinished line already satisfied a prompt: its completed form is not offered again. */
  private partialUsed = false
  private readonly items: readonly ExpectItem[]
  private readonly send: (text: string) => void

  /** `send` types into the console; it is called as soon as the items before it have been seen. */
  constructor(items: readonly ExpectItem[], send: (text: string) => void) {
    this.items = items
    this.send = send
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

  /** A complete console line. */
  line(line: string): void {
    if (this.partialUsed) {
      this.partialUsed = false
      return
    }
    const item = this.items[this.next]
    if (item && item.kind !== 'send' && this.matches(item, line)) this.advance()
  }

  /** The unfinished last line as it stands now. */
  partial(text: string): void {
    const item = this.items[this.next]
    if (text === '' || this.partialUsed || !item || item.kind !== 'prompt') return
    if (text.includes(item.text)) {
      this.partialUsed = true
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
    for (let item = this.items[this.next]; item?.kind === 'send'; item = this.items[this.next]) {
      this.next++
      this.send(`${item.text}\n`)
    }
  }
}
