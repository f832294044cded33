// YAML text → plain data, keeping where each value came from so that every
// problem can be reported as file:line:col: path: message.
import { isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml'
import { UserError } from '../errors/index.js'

export type YamlPath = ReadonlyArray<string | number>

export interface Problem {
  file: string
  line: number
  col: number
  path: string
  message: string
}

export interface YamlSource {
  file: string
  data: unknown
  /** Things keel accepted that a strict YAML parser would not. */
  warnings: string[]
  /** Where the value at `path` starts (or its nearest existing parent). */
  positionOf(path: YamlPath, key?: boolean): { line: number; col: number }
  /** A problem located at `path`. */
  problem(path: YamlPath, message: string, atKey?: boolean): Problem
}

export const limits = {
  maxBytes: 8 * 1024 * 1024,
  maxAliasCount: 100,
  maxDepth: 64,
}

/** Parses YAML text; syntax errors become UserErrors listing every problem. */
export function loadYaml(text: string, file: string): YamlSource {
  if (text.length > limits.maxBytes) {
    throw new UserError(`${file}: ${text.length} bytes is larger than the ${limits.maxBytes}-byte limit for a YAML file`)
  }
  let parsed = parseText(text)
  let removed: number[] = []
  const warnings: string[] = []
  if (parsed.errors.length > 0) {
    // One leniency, tried only when the text is not valid YAML as it is.
    const lenient = dropStrayBlockComments(text)
    if (lenient.removed.length > 0) {
      const retry = parseText(lenient.text)
      if (retry.errors.length === 0) {
        parsed = retry
        removed = lenient.removed
        for (const line of removed) {
          warnings.push(`${file}:${line}:1: a comment line less indented than the block scalar around it ends the block in YAML; keel reads it as a comment inside the block`)
        }
      }
    }
  }
  const { doc, lineCounter } = parsed
  // Positions in the parsed text → positions in the file the user has.
  const linePos = (offset: number): { line: number; col: number } => {
    const pos = lineCounter.linePos(offset)
    let line = pos.line
    for (const r of removed) if (r <= line) line++
    return { line, col: pos.col }
  }
  if (parsed.errors.length > 0) {
    const lines = parsed.errors.map((e) => {
      const pos = linePos(e.pos[0])
      return `${file}:${pos.line}:${pos.col}: ${e.message.split('\n')[0]}`
    })
    throw new UserError(lines.join('\n'))
  }
  checkDepth(doc.contents as Node | null, file, linePos)
  keepOctalModes(doc)
  let data: unknown
  try {
    data = doc.toJS({ maxAliasCount: limits.maxAliasCount })
  } catch (err) {
    throw new UserError(`${file}: too many alias expansions (an alias bomb?): YAML aliases may expand at most ${limits.maxAliasCount} times each`, { cause: err })
  }
  const positionOf = (path: YamlPath, key = false): { line: number; col: number } => {
    let node: unknown = doc.contents
    let best: unknown = node
    let keyNode: unknown
    for (const step of path) {
      keyNode = undefined
      if (isMap(node)) {
        const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === step)
        if (!pair) break
        keyNode = pair.key
        node = pair.value
      } else if (isSeq(node) && typeof step === 'number') {
        node = node.items[step]
      } else {
        break
      }
      if (node === undefined || node === null) break
      best = node
    }
    const target = (key && keyNode) || best
    const range = (target as { range?: [number, number, number] } | null)?.range
    if (!range) return { line: 1, col: 1 }
    return linePos(range[0])
  }
  return {
    file,
    data,
    warnings,
    positionOf,
    problem(path, message, atKey = false) {
      const pos = positionOf(path, atKey)
      return { file, line: pos.line, col: pos.col, path: formatPath(path), message }
    },
  }
}

/**
 * `mode: 0666`, unquoted, is the string "0666" to LinuxKit (its YAML decoder
 * keeps a scalar's text for a string field); to YAML 1.2 it is the number
 * 666, the leading zero lost. For `mode` keys only, such an octal-looking
 * number keeps its text, so LinuxKit's package configs read unchanged.
 */
function keepOctalModes(doc: Document): void {
  visit(doc, {
    Pair(_, pair) {
      if (!isScalar(pair.key) || pair.key.value !== 'mode' || !isScalar(pair.value)) return
      const v = pair.value
      if (typeof v.value === 'number' && typeof v.source === 'string' && /^0[0-7]+$/.test(v.source)) v.value = v.source
    },
  })
}

function parseText(text: string): { doc: Document; lineCounter: LineCounter; errors: Array<{ pos: [number, number]; message: string }> } {
  const lineCounter = new LineCounter()
  const doc: Document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, strict: true })
  const errors = [...doc.errors, ...doc.warnings.filter((w) => w.code !== 'TAG_RESOLVE_FAILED')]
  return { doc, lineCounter, errors }
}

/**
 * LinuxKit's own examples contain a commented-out line at column 0 inside a
 * block scalar (examples/static-ip.yml): in YAML that comment ends the block
 * and the lines after it are an error. This drops such comment lines — a
 * comment less indented than the block it sits in, followed by more of the
 * block — and returns the 1-based numbers of the lines dropped.
 */
export function dropStrayBlockComments(text: string): { text: string; removed: number[] } {
  const lines = text.split('\n')
  const indentOf = (l: string): number => l.length - l.trimStart().length
  const blank = (l: string): boolean => l.trim() === ''
  const comment = (l: string): boolean => l.trimStart().startsWith('#')
  const removed: number[] = []
  for (let i = 0; i < lines.length; i++) {
    const header = lines[i]!
    if (!/(^|[:\s-])[|>][0-9+-]*\s*(#.*)?$/.test(header) || comment(header)) continue
    const parentIndent = indentOf(header)
    let contentIndent: number | undefined
    let j = i + 1
    for (; j < lines.length; j++) {
      const l = lines[j]!
      if (blank(l)) continue
      const ind = indentOf(l)
      if (contentIndent !== undefined && ind >= contentIndent) continue
      if (contentIndent === undefined && ind > parentIndent && !comment(l)) { contentIndent = ind; continue }
      if (!comment(l)) break
      // A comment below the block's indentation: stray only if the block goes on after it.
      let k = j + 1
      while (k < lines.length && (blank(lines[k]!) || (comment(lines[k]!) && indentOf(lines[k]!) < (contentIndent ?? parentIndent + 1)))) k++
      const next = lines[k]
      const goesOn = next !== undefined && indentOf(next) > parentIndent && (contentIndent === undefined || indentOf(next) >= contentIndent)
      if (!goesOn) break
      for (let c = j; c < k; c++) if (!blank(lines[c]!)) removed.push(c + 1)
      j = k - 1
    }
    i = j - 1
  }
  if (removed.length === 0) return { text, removed }
  const drop = new Set(removed)
  return { text: lines.filter((_, idx) => !drop.has(idx + 1)).join('\n'), removed }
}

function checkDepth(root: Node | null, file: string, linePos: (offset: number) => { line: number; col: number }): void {
  const stack: Array<[unknown, number]> = [[root, 0]]
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!
    if (depth > limits.maxDepth) {
      const range = (node as { range?: [number] }).range
      const pos = range ? linePos(range[0]) : { line: 1, col: 1 }
      throw new UserError(`${file}:${pos.line}:${pos.col}: nested deeper than ${limits.maxDepth} levels`)
    }
    if (isMap(node)) for (const p of node.items) stack.push([p.value, depth + 1])
    else if (isSeq(node)) for (const item of node.items) stack.push([item, depth + 1])
  }
}

/** "services[2].binds" style; keys that are not plain words are quoted: sysctl["net.ipv4.ip_forward"]. */
export function formatPath(path: YamlPath): string {
  let out = ''
  for (const step of path) {
    if (typeof step === 'number') out += `[${step}]`
    else if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(step)) out += `[${JSON.stringify(step)}]`
    else out += out === '' ? step : `.${step}`
  }
  return out === '' ? '(top)' : out
}

export function formatProblem(p: Problem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.path}: ${p.message}`
}

/** Throws one UserError listing every problem, or returns when there are none. */
export function throwProblems(problems: readonly Problem[]): void {
  if (problems.length === 0) return
  const sorted = [...problems].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col)
  throw new UserError(sorted.map(formatProblem).join('\n'))
}

/** Levenshtein distance, for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!
    prev[0] = i
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1))
      diag = tmp
    }
  }
  return prev[b.length]!
}

/** The closest of `candidates` to `word`, when close enough to suggest. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Infinity
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase())
    if (d < bestDistance) {
      best = c
      bestDistance = d
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined
}
