// Test support for the launchers. Golden files: a plan rendered as text and compared
// with pkg/run/launchers/testdata/NAME.golden. UPDATE_GOLDEN=1 rewrites them;
// review the diff before committing it.
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import { formatShCommand } from './quote.js'
import type { LaunchPlan } from './types.js'

const testdata = fileURLToPath(new URL('./testdata/', import.meta.url))

/** A plan as one text: each file, then the commands as sh lines, then the notes. */
export function renderPlan(plan: LaunchPlan): string {
  const parts: string[] = []
  for (const [name, content] of Object.entries(plan.files)) parts.push(`==> file ${name} <==\n${content}`)
  for (const c of plan.copies ?? []) parts.push(`==> copy ${c.from} -> ${c.to} <==\n`)
  parts.push(`==> commands <==\n${plan.commands.map((c) => `${formatShCommand(c)}\n`).join('')}`)
  parts.push(`==> notes <==\n${plan.notes.map((n) => `${n}\n`).join('')}`)
  return parts.join('')
}

export interface GoldenResult { ok: boolean; expected: string; path: string }

/** Compares text with a golden file, or writes it when UPDATE_GOLDEN=1. */
export function compareGolden(name: string, actual: string, env: NodeJS.ProcessEnv = process.env): GoldenResult {
  const path = `${testdata}${name}.golden`
  if (env['UPDATE_GOLDEN'] === '1') writeFileSync(path, actual)
  let expected: string
  try {
    expected = readFileSync(path, 'utf8')
  } catch {
    return { ok: false, expected: '', path }
  }
  return { ok: expected === actual, expected, path }
}

const psQuote = /['\u2018\u2019\u201a\u201b]/
const psDoubleQuote = /["\u201c\u201d\u201e]/

/** A tap assertion that a plan renders to its golden file. */
export function checkGolden(t: Test, name: string, plan: LaunchPlan): void {
  const actual = renderPlan(plan)
  const g = compareGolden(name, actual)
  t.equal(actual, g.expected, `matches ${g.path} (UPDATE_GOLDEN=1 rewrites it)`)
}

/**
 * Reads a PowerShell single-quoted string as the language specification
 * says (pwsh is not installed here): a doubled quote character, ASCII or
 * typographic, is one quote, and nothing else is special.
 */
export function readPsSingleQuoted(s: string): string {
  if (!psQuote.test(s[0] ?? '') || !psQuote.test(s.at(-1) ?? '') || s.length < 2) throw new Error(`not a single-quoted string: ${s}`)
  let out = ''
  for (let i = 1; i < s.length - 1; i++) {
    const c = s[i]!
    if (psQuote.test(c)) {
      if (i + 1 >= s.length - 1 || !psQuote.test(s[i + 1]!)) throw new Error(`the string ends early at ${i}: ${s}`)
      i++
    }
    out += c
  }
  return out
}

/**
 * A light check of a PowerShell script's structure: skips comments and
 * strings (single-quoted with doubled quotes, double-quoted with backtick
 * escapes) and requires (), {} and [] to pair up. Returns the problems.
 */
export function checkPsStructure(script: string): string[] {
  const problems: string[] = []
  const stack: Array<{ c: string; at: number }> = []
  const pairs: Record<string, string> = { ')': '(', '}': '{', ']': '[' }
  for (let i = 0; i < script.length; i++) {
    const c = script[i]!
    if (c === '#') {
      while (i < script.length && script[i] !== '\n') i++
    } else if (psQuote.test(c)) {
      i++
      while (i < script.length) {
        if (psQuote.test(script[i]!)) {
          if (psQuote.test(script[i + 1] ?? '')) i += 2
          else break
        } else i++
      }
      if (i >= script.length) problems.push('a single-quoted string is not closed')
    } else if (psDoubleQuote.test(c)) {
      i++
      while (i < script.length && !psDoubleQuote.test(script[i]!)) i += script[i] === '`' ? 2 : 1
      if (i >= script.length) problems.push('a double-quoted string is not closed')
    } else if ('({['.includes(c)) {
      stack.push({ c, at: i })
    } else if (')}]'.includes(c)) {
      const top = stack.pop()
      if (top?.c !== pairs[c]) problems.push(`unbalanced ${c} at offset ${i}`)
    }
  }
  for (const s of stack) problems.push(`unclosed ${s.c} at offset ${s.at}`)
  return problems
}
