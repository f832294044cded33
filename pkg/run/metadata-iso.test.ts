import t from 'tap'
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { createRealRunner } from '../exec/index.js'
import { writeMetadataIso } from './metadata-iso.js'

const haveXorriso = spawnSync('xorriso', ['-version']).status === 0
const sha256 = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex')

t.test('a CD labelled cidata holding the data as user-data and config, the same bytes every time', { skip: !haveXorriso && 'xorriso is not installed' }, async (t) => {
  const dir = t.testdir({})
  const data = Buffer.from('{"hostname": "keel-test"}\n\x00binary\xff', 'latin1')
  const a = join(dir, 'a.iso')
  const b = join(dir, 'b.iso')
  await writeMetadataIso(data, a, createRealRunner())
  await new Promise((r) => setTimeout(r, 1100)) // a second later: no clock may leak in
  await writeMetadataIso(data, b, createRealRunner())
  t.equal(sha256(a), sha256(b), 'reproducible')
  t.ok(statSync(a).size <= 256 * 1024, `small (${statSync(a).size} bytes)`)

  const pvd = spawnSync('xorriso', ['-indev', a, '-pvd_info'], { encoding: 'utf8' })
  t.match(pvd.stdout, /Volume Id\s*:\s*cidata\n/, 'volume ID cidata')
  const out = join(dir, 'x')
  const x = spawnSync('xorriso', ['-osirrox', 'on', '-indev', a, '-extract', '/', out], { encoding: 'utf8' })
  t.equal(x.status, 0, 'xorriso reads it back')
  t.same(readFileSync(join(out, 'user-data')), data, 'user-data holds the data')
  t.same(readFileSync(join(out, 'config')), data, 'config holds the data')

  await writeMetadataIso(Buffer.from('other'), b, createRealRunner())
  t.not(sha256(a), sha256(b), 'other data, other bytes (the control)')
})

t.test('a failure names the ISO', { skip: !haveXorriso && 'xorriso is not installed' }, async (t) => {
  await t.rejects(writeMetadataIso(Buffer.from('x'), '/nonexistent-dir/data.iso', createRealRunner()), /nonexistent-dir/)
})
