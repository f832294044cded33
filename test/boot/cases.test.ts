// keel test's own checks: the cases in test/fixtures/boottest, each built to
// fail for its own reason, must fail with that reason named and their logs
// kept; and case selection and usage errors. (The project's own cases,
// test/cases, run in test/boot/cases-shard-*.test.ts.)
import t from 'tap'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { junitCases, tapPoints } from '../helpers/boot-cases.js'
import { keel } from '../helpers/keel-cli.js'

const work = mkdtempSync(join(tmpdir(), 'keel-cases-'))

// Six boots, two at a time: on a loaded two-core machine that can pass the
// suite's 300 s per file. Each boot has keel test's own hard deadline, so
// this one only backs them up.
t.setTimeout(600_000)
// The images and logs stay for a look when something failed.
t.teardown(() => { if (t.passing()) rmSync(work, { recursive: true, force: true }) })

t.test('keel test: cases built to fail fail, each for its reason, with their logs kept', async (t) => {
  const junit = join(work, 'fixtures.xml')
  const out = join(work, 'fixtures-out')
  const r = await keel(['test', '--junit', junit, '--out', out, 'test/fixtures/boottest'])
  t.equal(r.code, 1, 'keel test exits 1 when a case fails')
  const points = tapPoints(r.stdout)
  const byName = Object.fromEntries(points.map((p) => [p.name.replace('test/fixtures/boottest/', ''), p]))
  t.same(points.map((p) => p.ok), [false, false, false, false, true, false, false])
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
  const run = byName['060_run_fails']!
  t.match(run.diag, /reason: 'run: echo "host: saw the greeting"; exit 4 \(expect line 3\) failed: exit 4'/)
  t.match(run.diag, /tail: \|[\s\S]*host: saw the greeting/, 'the command\'s output comes with it')
  t.notMatch(readFileSync(join(out, 'test/fixtures/boottest/060_run_fails/console.log'), 'utf8'), 'reboot: Power down', 'the guest was stopped at once')
  const setup = byName['070_setup_fails']!
  t.match(setup.diag, /reason: setup script failed \(exit 5\)/)
  t.match(setup.diag, /setup: failing on purpose/)
  t.notOk(existsSync(join(out, 'test/fixtures/boottest/070_setup_fails/build.log')), 'nothing was built')

  for (const name of ['010_crash_loop', '020_segfault', '030_missing_line', '040_check_fails', '060_run_fails']) {
    const dir = join(out, 'test/fixtures/boottest', name)
    t.ok(readFileSync(join(dir, 'console.log'), 'utf8').includes('[init'), `${name}: console log kept`)
    t.ok(existsSync(join(dir, 'image-kernel')), `${name}: its image kept`)
    t.match(r.stderr, `${name}: FAILED`)
  }
  t.equal(existsSync(join(out, 'test/fixtures/boottest/050_skipped')), false, 'a skipped case is not built')

  const cases = junitCases(readFileSync(junit, 'utf8'))
  t.same(cases.map((c) => c.attrs['name']), ['010_crash_loop', '020_segfault', '030_missing_line', '040_check_fails', '050_skipped', '060_run_fails', '070_setup_fails'])
  t.match(cases[0]!.body, /<failure message="a service is crash-looping \(pattern crash-loop\) at console line \d+" type="pattern">/)
  t.match(cases[2]!.body, /<failure message="never saw &quot;a line this image never prints&quot;; the guest stopped first \(QEMU exit 0\)" type="missing">/)
  t.match(cases[4]!.body, /<skipped message="labelled skip"\/>/)
})

t.test('keel test: selection and usage, without booting', async (t) => {
  const list = await keel(['test', '--list', '--exclude-labels', 'slow', '--shard', '2/2', 'test/fixtures/boottest'])
  t.equal(list.code, 0)
  t.equal(list.stdout, 'test/fixtures/boottest/020_segfault\ntest/fixtures/boottest/040_check_fails\ntest/fixtures/boottest/070_setup_fails\n', 'the slow case left out, then every second one')
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
