import t from 'tap'
import { compareVersions, versionSatisfies } from './version.js'

// [a, b, expected sign of compareVersions(a, b)]
const table: [string, string, -1 | 0 | 1][] = [
  ['1.0', '1.0', 0],
  ['1.0', '1.1', -1],
  ['1.10', '1.9', 1],
  ['1.0', '1.0.0', -1],
  ['1.0-1', '1.0-2', -1],
  ['1.0-10', '1.0-9', 1],
  ['1.0', '1.0-0', 0],
  ['1.0-1', '1.0', 1],
  ['1:1.0', '2.0', 1],
  ['0:1.0', '1.0', 0],
  ['1:0.1', '0:9.9', 1],
  ['2:1.0', '10:0.1', -1],
  ['1.0~rc1', '1.0', -1],
  ['1.0~rc1', '1.0~rc2', -1],
  ['1.0~~', '1.0~', -1],
  ['1.0~~a', '1.0~~', 1],
  ['1.0~', '1.0', -1],
  ['1.0', '1.0+b1', -1],
  ['1.0a', '1.0', 1],
  ['1.0a', '1.0b', -1],
  ['1.0a', '1.0+', -1],
  ['1.0+', '1.0.', -1],
  ['1.0+dfsg-1', '1.0-1', 1],
  ['1.0a', '1.0.1', -1],
  ['1.001', '1.1', 0],
  ['1.2.3-1ubuntu1', '1.2.3-1', 1],
  ['1:1.35.0-4+deb12u1+b1', '1:1.35.0-4', 1],
  ['6.1.192-2', '6.1.176-1', 1],
  ['2.36-9+deb12u10', '2.36-9+deb12u9', 1],
  ['1.2-3-4', '1.2-3-5', -1],
  ['1.2-3-4', '1.2-3', 1],
  ['a', 'b', -1],
  ['Z', 'a', -1],
  ['1.0.0', '1.0-0', 1],
  ['99999999999999999999', '99999999999999999998', 1],
  ['1:2.30', '1:2.3', 1],
]

t.test('dpkg version ordering table', async (t) => {
  t.ok(table.length >= 25)
  for (const [a, b, want] of table) {
    t.equal(Math.sign(compareVersions(a, b)), want, `${a} vs ${b}`)
    t.equal(Math.sign(compareVersions(b, a)), -want, `${b} vs ${a}`)
  }
})

t.test('sorting with compareVersions', async (t) => {
  const v = ['1.0', '1.0~rc1', '1:0.9', '1.0-1', '0.9', '1.0+b1', '1.0~beta']
  t.same([...v].sort(compareVersions), ['0.9', '1.0~beta', '1.0~rc1', '1.0', '1.0-1', '1.0+b1', '1:0.9'])
})

t.test('versionSatisfies', async (t) => {
  t.ok(versionSatisfies('2.0', '>=', '2'))
  t.ok(versionSatisfies('2.0', '<=', '2.0'))
  t.notOk(versionSatisfies('2.0', '<<', '2.0'))
  t.ok(versionSatisfies('2.0~rc1', '<<', '2.0'))
  t.ok(versionSatisfies('2.1', '>>', '2.0'))
  t.notOk(versionSatisfies('2.0', '>>', '2.0'))
  t.ok(versionSatisfies('1:2.0', '=', '1:2.0-0'))
  t.notOk(versionSatisfies('2.0', '=', '2.0-1'))
})
