// Rendering case results: TAP (version 14, a YAML block under each failure)
// and JUnit XML (the dialect Jenkins, GitLab and GitHub's test reporters read).
import { stringify as toYaml } from 'yaml'

export type FailureKind = 'setup' | 'build' | 'boot' | 'missing' | 'pattern' | 'run' | 'exit' | 'check'

export interface CaseResult {
  name: string
  status: 'pass' | 'fail' | 'skip'
  /** One line: why the case failed or was skipped. */
  reason?: string
  kind?: FailureKind
  durationMs: number
  /** Extra facts for the report (expected line, pattern, log paths), in order. */
  details?: Record<string, string>
  /** The last console (or build, or check) lines, for a failure. */
  tail?: string[]
}

/** TAP's description may not hold "#" unescaped (it starts a directive). */
function tapDescription(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/#/g, '\\#').replace(/[\r\n]+/g, ' ')
}

export function renderTapHeader(count: number): string {
  return `TAP version 14\n1..${count}${count === 0 ? ' # no cases selected' : ''}\n`
}

/** One test point (1-based number) with its YAML diagnostics when it failed. */
export function renderTapResult(number: number, r: CaseResult): string {
  const seconds = (r.durationMs / 1000).toFixed(1)
  if (r.status === 'skip') return `ok ${number} - ${tapDescription(r.name)} # SKIP ${tapDescription(r.reason ?? '')}\n`
  const head = `${r.status === 'pass' ? 'ok' : 'not ok'} ${number} - ${tapDescription(r.name)} (${seconds} s)\n`
  if (r.status === 'pass') return head
  const diag: Record<string, unknown> = { reason: r.reason ?? 'failed' }
  if (r.kind) diag['kind'] = r.kind
  Object.assign(diag, r.details ?? {})
  if (r.tail && r.tail.length > 0) diag['tail'] = `${r.tail.join('\n')}\n`
  const yaml = toYaml(diag, { lineWidth: 0 }).trimEnd()
  return `${head}  ---\n${yaml.replace(/^/gm, '  ')}\n  ...\n`
}

/** A summary comment for the end of the TAP stream. */
export function renderTapSummary(results: readonly CaseResult[], durationMs: number): string {
  const n = (s: CaseResult['status']): number => results.filter((r) => r.status === s).length
  return `# pass ${n('pass')}, fail ${n('fail')}, skip ${n('skip')} in ${(durationMs / 1000).toFixed(1)} s\n`
}

/** Text for XML content and attribute values: escaped, characters XML 1.0 forbids removed. */
export function escapeXml(s: string): string {
  return s
    // eslint-disable-next-line no-control-regex
    .replace(/[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;').replace(/'/g, '&apos;')
}

export interface JunitOptions {
  suite: string
  /** ISO 8601, when the run started. */
  timestamp: string
  durationMs: number
  hostname?: string
}

/** One <testsuite> in a <testsuites>; a case's classname is its folder, its name the last part. */
export function renderJunit(results: readonly CaseResult[], o: JunitOptions): string {
  const count = (s: CaseResult['status']): number => results.filter((r) => r.status === s).length
  const secs = (ms: number): string => (ms / 1000).toFixed(3)
  const attrs = (a: Record<string, string | number>): string =>
    Object.entries(a).map(([k, v]) => ` ${k}="${escapeXml(String(v))}"`).join('')
  const counts = { tests: results.length, failures: count('fail'), errors: 0, skipped: count('skip'), time: secs(o.durationMs) }
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attrs({ name: o.suite, ...counts })}>`,
    `  <testsuite${attrs({ name: o.suite, ...counts, timestamp: o.timestamp, ...(o.hostname ? { hostname: o.hostname } : {}) })}>`,
  ]
  for (const r of results) {
    const slash = r.name.lastIndexOf('/')
    const classname = slash > 0 ? r.name.slice(0, slash).replace(/\//g, '.') : o.suite
    const name = slash >= 0 ? r.name.slice(slash + 1) : r.name
    const open = `    <testcase${attrs({ classname, name, time: secs(r.durationMs) })}`
    if (r.status === 'pass') {
      out.push(`${open}/>`)
      continue
    }
    out.push(`${open}>`)
    if (r.status === 'skip') out.push(`      <skipped${attrs({ message: r.reason ?? '' })}/>`)
    else {
      const body = [
        ...Object.entries(r.details ?? {}).map(([k, v]) => `${k}: ${v}`),
        ...(r.tail && r.tail.length > 0 ? ['', 'last lines:', ...r.tail] : []),
      ].join('\n')
      out.push(`      <failure${attrs({ message: r.reason ?? 'failed', type: r.kind ?? 'failure' })}>${escapeXml(body)}</failure>`)
    }
    if (r.details?.['console']) out.push(`      <system-out>${escapeXml(`console log: ${r.details['console']}`)}</system-out>`)
    out.push('    </testcase>')
  }
  out.push('  </testsuite>', '</testsuites>', '')
  return out.join('\n')
}
