import t from 'tap'
import { chmodSync, cpSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { hashPackageDir } from './hash.js'

t.test('the tag is a hash of the content, not of times, places or read/write bits', async (t) => {
  const base = t.testdir({ a: { 'build.yml': 'image: x\n', src: { 'main.c': 'int main(){}' } }, b: {} })
  const a = join(base, 'a')
  const b = join(base, 'b')
  cpSync(a, b, { recursive: true })
  utimesSync(join(b, 'src/main.c'), 12345, 12345)
  chmodSync(join(b, 'build.yml'), 0o600)
  const ha = await hashPackageDir(a)
  t.match(ha, /^[0-9a-f]{20}$/)
  t.equal(await hashPackageDir(b), ha)
  writeFileSync(join(b, 'src/main.c'), 'int main(){return 1;}')
  t.not(await hashPackageDir(b), ha, 'content changes the tag')
  cpSync(a, b, { recursive: true })
  t.equal(await hashPackageDir(b), ha)
  chmodSync(join(b, 'src/main.c'), 0o755)
  t.not(await hashPackageDir(b), ha, 'the executable bit changes the tag')
  chmodSync(join(b, 'src/main.c'), 0o644)
  symlinkSync('main.c', join(b, 'src/link'))
  t.not(await hashPackageDir(b), ha, 'a new symlink changes the tag')
})

t.test('.git is not part of the content', async (t) => {
  const base = t.testdir({ a: { 'build.yml': 'image: x\n' }, b: { 'build.yml': 'image: x\n', '.git': { HEAD: 'ref' } } })
  t.equal(await hashPackageDir(join(base, 'b')), await hashPackageDir(join(base, 'a')))
})
