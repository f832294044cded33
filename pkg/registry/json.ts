// A strict JSON reader for documents from registries: valid UTF-8 only,
// nesting depth bounded (so hostile input cannot exhaust the stack),
// duplicate keys refused (two parsers must not read two different
// documents out of the same bytes), and "__proto__" keys ignored so that
// nothing downstream can be tricked into changing an object's prototype.

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

export class JsonError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'JsonError'
  }
}

export interface JsonOptions {
  /** Deepest nesting of arrays and objects allowed (default 64). */
  maxDepth?: number
}

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const numberPattern = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y

export function parseJson(input: Uint8Array | string, options: JsonOptions = {}): JsonValue {
  let text: string
  if (typeof input === 'string') {
    text = input
  } else {
    try {
      text = decoder.decode(input)
    } catch {
      throw new JsonError('not valid UTF-8')
    }
  }
  const maxDepth = options.maxDepth ?? 64
  let pos = 0

  const fail = (why: string): never => {
    throw new JsonError(`${why} at offset ${pos}`)
  }
  const skipSpace = (): void => {
    while (pos < text.length) {
      const c = text.charCodeAt(pos)
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++
      else break
    }
  }
  const readString = (): string => {
    const start = pos
    pos++ // opening quote
    while (true) {
      if (pos >= text.length) fail('unterminated string')
      const c = text.charCodeAt(pos)
      if (c === 0x22) break
      if (c < 0x20) fail('control character in string')
      if (c === 0x5c) {
        const e = text[pos + 1]
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(pos + 2, pos + 6))) fail('bad \\u escape')
          pos += 6
          continue
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) fail('bad escape')
        pos += 2
        continue
      }
      pos++
    }
    pos++ // closing quote
    // The slice is a well-formed JSON string literal now; let the engine decode it.
    return JSON.parse(text.slice(start, pos)) as string
  }
  const readLiteral = (word: string, value: JsonValue): JsonValue => {
    if (text.startsWith(word, pos)) {
      pos += word.length
      return value
    }
    return fail('unexpected token')
  }
  const readValue = (depth: number): JsonValue => {
    skipSpace()
    const c = text[pos]
    switch (c) {
      case '{': {
        if (depth >= maxDepth) fail(`nested deeper than ${maxDepth} levels`)
        pos++
        const obj: { [key: string]: JsonValue } = {}
        const seen = new Set<string>()
        skipSpace()
        if (text[pos] === '}') {
          pos++
          return obj
        }
        while (true) {
          skipSpace()
          if (text[pos] !== '"') fail('expected a string key')
          const key = readString()
          if (seen.has(key)) fail(`duplicate key ${JSON.stringify(key)}`)
          seen.add(key)
          skipSpace()
          if (text[pos] !== ':') fail('expected ":"')
          pos++
          const value = readValue(depth + 1)
          if (key !== '__proto__') obj[key] = value
          skipSpace()
          if (text[pos] === ',') {
            pos++
            continue
          }
          if (text[pos] === '}') {
            pos++
            return obj
          }
          fail('expected "," or "}"')
        }
      }
      // falls through (unreachable: the loop above returns or throws)
      case '[': {
        if (depth >= maxDepth) fail(`nested deeper than ${maxDepth} levels`)
        pos++
        const arr: JsonValue[] = []
        skipSpace()
        if (text[pos] === ']') {
          pos++
          return arr
        }
        while (true) {
          arr.push(readValue(depth + 1))
          skipSpace()
          if (text[pos] === ',') {
            pos++
            continue
          }
          if (text[pos] === ']') {
            pos++
            return arr
          }
          fail('expected "," or "]"')
        }
      }
      // falls through (unreachable)
      case '"':
        return readString()
      case 't':
        return readLiteral('true', true)
      case 'f':
        return readLiteral('false', false)
      case 'n':
        return readLiteral('null', null)
      case undefined:
        return fail('unexpected end of input')
      default: {
        numberPattern.lastIndex = pos
        const m = numberPattern.exec(text)
        if (m === null) return fail('unexpected token')
        pos += m[0].length
        return Number(m[0])
      }
    }
  }

  const value = readValue(0)
  skipSpace()
  if (pos !== text.length) fail('trailing data')
  return value
}

export function isJsonObject(v: JsonValue | undefined): v is { [key: string]: JsonValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
