// The project's own boot tests, run the way CI runs them: `keel test` over
// test/cases must pass, with TAP on stdout and a JUnit file. Then the cases
// in test/fixtures/boottest, each built to fail for its own reason, must
// fail with that reason named and their console logs kept.
import t from 'tap'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { keel } from '../helpers/keel-cli.js'

const work = mkdtempSync(join(tmpdir(), 'keel-cases-'))

// Six boots in one file (two cases, four fixtures), two at a time: on a
// loaded two-core machine that can pass the suite's 300 s per file. Each
// boot has keel test's own hard deadline, so this one only backs them up.
t.setTimeout(600_000)
// The images and logs stay for a look when something failed.
t.teardown(() => { if (t.passing()) rmSync(work, { recursive: true, force: true }) })

/** <testcase> elements of a JUnit file: attributes and the text inside. */
function junitCases(xml: string): Array<{ attrs: Record<string, string>; body: string }> {
  const out: Array<{ attrs: Record<string, string>; body: string }> = []
  for (const m of xml.matchAll(/<testcase ([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const attrs = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((a) => [a[1]!, a[2]!]))
    out.push({ attrs, body: m[3] ?? '' })
  }
  return out
}

/** TAP test points: number, ok, name, and the YAML block under a failure. */
function tapPoints(tap: string): Array<{ ok: boolean; n: number; name: string; directive: string; diag: string }> {
  const lines = tap.split('\n')
  const out: Array<{ ok: boolean; n: number; name: string; directive: string; diag: string }> = []
  lines.forEach((line, i) => {
    const m = /^(ok|not ok) (\d+) - (\S+)(.*)$/.exec(line)
    if (!m) return
    let diag = ''
    if (lines[i + 1] === '  ---') {
      const end = lines.indexOf('  ...', i + 1)
      diag = lines.slice(i + 2, end).join('\n')
    }
    out.push({ ok: m[1] === 'ok', n: Number(m[2]), name: m[3]!, directive: m[4]!, diag })
  })
  return out
}

t.test('keel test: the project\'s cases pass, TAP on stdout, JUnit in a file', async (t) => {
  const junit = join(work, 'cases.xml')
  const out = join(work, 'cases-out')
  const r = await keel(['test', '--junit', junit, '--out', out, 'test/cases'])
  t.equal(r.code, 0, `keel test exits 0\n${r.stdout}\n${r.stderr}`)
  t.match(r.stdout, /^TAP version 14\n1\.\.3\n/)
  const points = tapPoints(r.stdout)
  t.same(points.map((p) => [p.ok, p.n, p.name]), [[true, 1, 'test/cases/000_minimal'], [true, 2, 'test/cases/010_default'], [true, 3, 'test/cases/020_static_ip']])
  t.match(r.stdout, /# pass 3, fail 0, skip 0 in [0-9.]+ s\n$/)
  t.match(r.stderr, `builds and console logs in ${out}`)

  const xml = readFileSync(junit, 'utf8')
  t.match(xml, /<testsuites name="keel test" tests="3" failures="0" errors="0" skipped="0" time="[0-9.]+">/)
  const cases = junitCases(xml)
  t.same(cases.map((c) => [c.attrs['classname'], c.attrs['name'], c.body]), [['test.cases', '000_minimal', ''], ['test.cases', '010_default', ''], ['test.cases', '020_static_ip', '']])

  // The console logs are kept; the images of passing cases are not.
  const minimal = readFileSync(join(out, 'test/cases/000_minimal/console.log'), 'utf8')
  t.match(minimal, 'greeter: hello from a service')
  t.match(readFileSync(join(out, 'test/cases/010_default/console.log'), 'utf8'), /^keel-shell-42\r?$/m, 'the shell answered the typed command')
  t.equal(existsSync(join(out, 'test/cases/000_minimal/image-kernel')), false)
  t.equal(readFileSync(join(out, 'test/cases/000_minimal/check.log'), 'utf8'), '', 'the check script ran quietly')
})

t.test('keel test: cases built to fail fail, each for its reason, with their logs kept', async (t) => {
  const junit = join(work, 'fixtures.xml')
  const out = join(work, 'fixtures-out')
  const r = await keel(['test', '--junit', junit, '--out', out, 'test/fixtures/boottest'])
  t.equal(r.code, 1, 'keel test exits 1 when a case fails')
  const points = tapPoints(r.stdout)
  const byName = Object.fromEntries(points.map((p) => [p.name.replace('test/fixtures/boottest/', ''), p]))
  t.same(points.map((p) => p.ok), [false, false, false, false, true])
  if (!points.every((p, i) => p.ok === (i === 4))) t.comment(`${r.stdout}\n${r.stderr}`)

  const crash = byName['010_crash_loop']!
  t.match(crash.diag, /reason: a service is crash-looping \(pattern crash-loop\)/)
  t.match(crash.diag, /line: "\[init [0-9.]+\] service crasher is crash-looping/)
  const segv = byName['020_segfault']!
  t.match(segv.diag, /pattern: crash-signal/)
  t.match(segv.diag, /service segv exited \(killed by signal 11\)/)
  const missing = byName['030_missing_line']!
  t.match(missing.diag, /reason: never saw "a line this image never prints"; the guest stopped first \(QEMU exit 0\)/)
  t.match(missing.diag, /tail: \|[\s\S]*reboot: Power down/, 'a console tail comes with it')
  const check = byName['040_check_fails']!
  t.match(check.diag, /reason: check script failed \(exit 3\)/)
  t.match(check.diag, /check saw 1 greeting\(s\); failing on purpose/)
  t.match(byName['050_skipped']!.directive, /# SKIP labelled skip/)

  for (const name of ['010_crash_loop', '020_segfault', '030_missing_line', '040_check_fails']) {
    const dir = join(out, 'test/fixtures/boottest', name)
    t.ok(readFileSync(join(dir, 'console.log'), 'utf8').includes('[init'), `${name}: console log kept`)
    t.ok(existsSync(join(dir, 'image-kernel')), `${name}: its image kept`)
    t.match(r.stderr, `${name}: FAILED`)
  }
  t.equal(existsSync(join(out, 'test/fixtures/boottest/050_skipped')), false, 'a skipped case is not built')

  const cases = junitCases(readFileSync(junit, 'utf8'))
  t.same(cases.map((c) => c.attrs['name']), ['010_crash_loop', '020_segfault', '030_missing_line', '040_check_fails', '050_skipped'])
  t.match(cases[0]!.body, /<failure message="a service is crash-looping \(pattern crash-loop\) at console line \d+" type="pattern">/)
  t.match(cases[2]!.body, /<failure message="never saw &quot;a line this image never prints&quot;; the guest stopped first \(QEMU exit 0\)" type="missing">/)
  t.match(cases[4]!.body, /<skipped message="labelled skip"\/>/)
})

t.test('keel test: selection and usage, without booting', async (t) => {
  const list = await keel(['test', '--list', '--exclude-labels', 'slow', '--shard', '2/2', 'test/cases', 'test/fixtures/boottest'])
  t.equal(list.code, 0)
  t.equal(list.stdout, 'test/cases/010_default\ntest/fixtures/boottest/010_crash_loop\ntest/fixtures/boottest/030_missing_line\n')
  for (const args of [['--shard', '3/2', 'test/cases'], ['--format', 'xml', 'test/cases'], ['--allow', 'sneeze', 'test/cases'], []]) {
    const r = await keel(['test', ...args])
    t.equal(r.code, 2, `usage error: ${args.join(' ')}`)
  }
  // Only the skipped case is selected: JUnit on stdout, nothing booted.
  const junit = await keel(['test', '--format', 'junit', '--labels', 'skip', '-o', join(work, 'skip-out'), 'test/fixtures/boottest'])
  t.equal(junit.code, 0)
  t.match(junit.stdout, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="keel test" tests="1" failures="0" errors="0" skipped="1" /)
  t.same(junitCases(junit.stdout).map((c) => [c.attrs['classname'], c.attrs['name'], c.body.trim()]), [['test.fixtures.boottest', '050_skipped', '<skipped message="labelled skip"/>']])

  const bad = await keel(['test', '--list', 'test/boot'])
  t.equal(bad.code, 1)
  t.match(bad.stderr, 'test/boot: no cases')
})
