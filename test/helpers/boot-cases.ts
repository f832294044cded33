// Running the project's boot-test cases (test/cases) through `keel test`, as
// CI does, split into shards so that node-tap runs two at once: each shard
// file runs `keel test --shard I/N --jobs 1`, and must see every case it
// selected pass. Also the TAP and JUnit readers the cases tests share.
import t from 'tap'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { keel } from './keel-cli.js'

/** How many shard files there are (test/boot/cases-shard-*.test.ts). */
export const shardCount = 3

/** <testcase> elements of a JUnit file: attributes and the text inside. */
export function junitCases(xml: string): Array<{ attrs: Record<string, string>; body: string }> {
  const out: Array<{ attrs: Record<string, string>; body: string }> = []
  for (const m of xml.matchAll(/<testcase ([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const attrs = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((a) => [a[1]!, a[2]!]))
    out.push({ attrs, body: m[3] ?? '' })
  }
  return out
}

export interface TapPoint { ok: boolean; n: number; name: string; directive: string; diag: string }

/** TAP test points: number, ok, name, and the YAML block under a failure. */
export function tapPoints(tap: string): TapPoint[] {
  const lines = tap.split('\n')
  const out: TapPoint[] = []
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

/** Runs shard `index` of test/cases and checks that every case in it passed (or was skipped by its labels). */
export function runCaseShard(index: number): void {
  const work = mkdtempSync(join(tmpdir(), `keel-cases-${index}-`))
  // Several boots (and maybe a kernel build) one after another; each boot
  // has keel test's own hard deadline, so this one only backs them up.
  t.setTimeout(70 * 60_000)
  // The images and logs stay for a look when something failed.
  t.teardown(() => { if (t.passing()) rmSync(work, { recursive: true, force: true }) })

  t.test(`keel test --shard ${index}/${shardCount} test/cases: every case passes`, async (t) => {
    const list = await keel(['test', '--list', '--shard', `${index}/${shardCount}`, 'test/cases'])
    t.equal(list.code, 0, `the cases are valid\n${list.stderr}`)
    const names = list.stdout.trim().split('\n').filter((l) => l !== '')
    t.ok(names.length > 0, `shard ${index} has cases: ${names.join(', ')}`)

    const junit = join(work, 'cases.xml')
    const out = join(work, 'out')
    const r = await keel(['test', '--jobs', '1', '--shard', `${index}/${shardCount}`, '--junit', junit, '--out', out, 'test/cases'])
    const points = tapPoints(r.stdout)
    for (const p of points) {
      t.ok(p.ok, `${p.name}${p.directive}${p.ok ? '' : `\n${p.diag}`}`)
      if (!p.ok) t.comment(`${p.name}: its logs are under ${join(out, p.name)}`)
    }
    t.equal(r.code, 0, `keel test exits 0\n${r.code === 0 ? '' : r.stderr}`)
    t.match(r.stdout, new RegExp(`^TAP version 14\\n1\\.\\.${names.length}\\n`))
    t.same(points.map((p) => p.name), names, 'one TAP point a case, in name order')
    const xml = readFileSync(junit, 'utf8')
    t.match(xml, new RegExp(`<testsuites name="keel test" tests="${names.length}" failures="0" errors="0"`))
    t.same(junitCases(xml).map((c) => c.attrs['name']), names.map((n) => n.split('/').pop()), 'the JUnit file names the same cases')
    for (const name of names.filter((n) => points.find((p) => p.name === n)?.directive.includes('# SKIP') === false)) {
      t.ok(existsSync(join(out, name, 'console.log')), `${name}: its console log is kept`)
      t.notOk(existsSync(join(out, name, 'image-kernel')), `${name}: a passing case's image is not`)
    }
  })
}
