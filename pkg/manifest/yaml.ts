// YAML text → plain data, keeping where each value came from so that every
// problem can be reported as file:line:col: path: message.
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml'
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
  const lineCounter = new LineCounter()
  const doc: Document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, strict: true })
  const syntax = [...doc.errors, ...doc.warnings.filter((w) => w.code !== 'TAG_RESOLVE_FAILED')]
  if (syntax.length > 0) {
    const lines = syntax.map((e) => {
      const pos = lineCounter.linePos(e.pos[0])
      return `${file}:${pos.line}:${pos.col}: ${e.message.split('\n')[0]}`
    })
    throw new UserError(lines.join('\n'))
  }
  checkDepth(doc.contents as Node | null, file, lineCounter)
  let data: unknown
  try {
    data = doc.toJS({ maxAliasCount: limits.maxAliasCount })
  } catch (err) {
    throw new UserError(`${file}: ${(err as Error).message} (aliases are limited to protect against alias bombs)`)
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
    return lineCounter.linePos(range[0])
  }
  return {
    file,
    data,
    positionOf,
    problem(path, message, atKey = false) {
      const pos = positionOf(path, atKey)
      return { file, line: pos.line, col: pos.col, path: formatPath(path), message }
    },
  }
}

function checkDepth(root: Node | null, file: string, lineCounter: LineCounter): void {
  const stack: Array<[unknown, number]> = [[root, 0]]
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!
    if (depth > limits.maxDepth) {
      const range = (node as { range?: [number] }).range
      const pos = range ? lineCounter.linePos(range[0]) : { line: 1, col: 1 }
      throw new UserError(`${file}:${pos.line}:${pos.col}: nested deeper than ${limits.maxDepth} levels`)
    }
    if (isMap(node)) for (const p of node.items) stack.push([p.value, depth + 1])
    else if (isSeq(node)) for (const item of node.items) stack.push([item, depth + 1])
  }
}

/** "services[2].binds" style. */
export function formatPath(path: YamlPath): string {
  let out = ''
  for (const step of path) {
    if (typeof step === 'number') out += `[${step}]`
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
