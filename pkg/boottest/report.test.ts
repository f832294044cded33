import t from 'tap'
import { escapeXml, renderJunit, renderTapHeader, renderTapResult, renderTapSummary, type CaseResult } from './report.js'
import { parse as parseYaml } from 'yaml'

const failed: CaseResult = {
  name: 'cases/020_x#1', status: 'fail', kind: 'missing', durationMs: 12_345,
  reason: 'never saw "hello"; timed out after 120 s',
  details: { expected: '"hello"', console: '/out/cases/020_x/console.log' },
  tail: ['[init 1.0] <started> & "quoted"', 'bell\x07 esc\x1b[0m'],
}

t.test('TAP: plan, passes, skips and a failure with YAML diagnostics', async (t) => {
  t.equal(renderTapHeader(3), 'TAP version 14\n1..3\n')
  t.equal(renderTapHeader(0), 'TAP version 14\n1..0 # no cases selected\n')
  t.equal(renderTapResult(1, { name: 'cases/000_a', status: 'pass', durationMs: 1500 }), 'ok 1 - cases/000_a (1.5 s)\n')
  t.equal(renderTapResult(2, { name: 'b', status: 'skip', durationMs: 0, reason: 'labelled skip' }), 'ok 2 - b # SKIP labelled skip\n')
  const out = renderTapResult(3, failed)
  t.ok(out.startsWith('not ok 3 - cases/020_x\\#1 (12.3 s)\n  ---\n'), 'a # in the name is escaped')
  t.ok(out.endsWith('\n  ...\n'))
  const yaml = out.split('\n').slice(2, -2).map((l) => l.slice(2)).join('\n')
  const diag = parseYaml(yaml) as Record<string, string>
  t.equal(diag['reason'], failed.reason)
  t.equal(diag['kind'], 'missing')
  t.equal(diag['console'], '/out/cases/020_x/console.log')
  t.equal(diag['tail'], `${failed.tail!.join('\n')}\n`, 'the tail survives YAML, control characters and all')
  t.equal(renderTapSummary([failed, { name: 'a', status: 'pass', durationMs: 1 }], 2000), '# pass 1, fail 1, skip 0 in 2.0 s\n')
})

t.test('XML escaping removes what XML cannot hold', async (t) => {
  t.equal(escapeXml('a<b>&"c\'\x00\x1b[1m\x07\td\n😀'), 'a&lt;b&gt;&amp;&quot;c&apos;[1m\td\n😀')
})

t.test('JUnit: counts, class names, failures, skips, escaped text', async (t) => {
  const xml = renderJunit([
    { name: 'cases/000_a', status: 'pass', durationMs: 1000 },
    failed,
    { name: 'top', status: 'skip', durationMs: 0, reason: 'labelled <skip>' },
  ], { suite: 'keel test', timestamp: '2026-01-01T00:00:00Z', durationMs: 20_000, hostname: 'ci' })
  t.match(xml, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="keel test" tests="3" failures="1" errors="0" skipped="1" time="20.000">/)
  t.match(xml, '<testsuite name="keel test" tests="3" failures="1" errors="0" skipped="1" time="20.000" timestamp="2026-01-01T00:00:00Z" hostname="ci">')
  t.match(xml, '<testcase classname="cases" name="000_a" time="1.000"/>')
  t.match(xml, '<testcase classname="cases" name="020_x#1" time="12.345">')
  t.match(xml, '<failure message="never saw &quot;hello&quot;; timed out after 120 s" type="missing">expected: &quot;hello&quot;')
  t.match(xml, '[init 1.0] &lt;started&gt; &amp; &quot;quoted&quot;\nbell esc[0m</failure>')
  t.match(xml, '<system-out>console log: /out/cases/020_x/console.log</system-out>')
  t.match(xml, '<testcase classname="keel test" name="top" time="0.000">\n      <skipped message="labelled &lt;skip&gt;"/>')
  // eslint-disable-next-line no-control-regex
  t.notMatch(xml, /[\x00-\x08\x0b\x0c\x0e-\x1f]/, 'no control characters')
  const open = (xml.match(/<testcase /g) ?? []).length
  t.equal(open, 3)
  t.equal((xml.match(/<\/testcase>/g) ?? []).length + (xml.match(/<testcase [^>]*\/>/g) ?? []).length, 3, 'every testcase is closed')
})
