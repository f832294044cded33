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

t.test('an extra source is part of the tag: its content and where it goes', async (t) => {
  const base = t.testdir({ pkg: { 'build.yml': 'image: x\n', src: { common: t.fixture('symlink', '../../common') } }, common: { 'util.c': 'one' } })
  const pkg = join(base, 'pkg')
  const extra = [{ source: join(base, 'common'), dest: 'src/common' }]
  const without = await hashPackageDir(pkg)
  const ha = await hashPackageDir(pkg, extra)
  t.not(ha, without, 'the extra source counts')
  writeFileSync(join(base, 'common', 'util.c'), 'two')
  t.equal(await hashPackageDir(pkg), without, 'negative control: the link alone does not follow the content')
  t.not(await hashPackageDir(pkg, extra), ha, 'a change in the extra source changes the tag')
  writeFileSync(join(base, 'common', 'util.c'), 'one')
  t.equal(await hashPackageDir(pkg, extra), ha, 'and back')
  t.not(await hashPackageDir(pkg, [{ ...extra[0]!, dest: 'common' }]), ha, 'the destination counts')
})

t.test('build args given on the command line are part of the tag, when they change something', async (t) => {
  const dir = t.testdir({ 'build.yml': 'image: x\nbuildArgs: [A=1]\n' })
  const plain = await hashPackageDir(dir)
  t.equal(await hashPackageDir(dir, [], new Map()), plain)
  const b2 = await hashPackageDir(dir, [], new Map([['B', '2']]))
  t.not(b2, plain, 'an override counts')
  t.not(await hashPackageDir(dir, [], new Map([['B', '3']])), b2, 'its value counts')
  t.equal(await hashPackageDir(dir, [], new Map([['B', '2'], ['C', '']])), await hashPackageDir(dir, [], new Map([['C', ''], ['B', '2']])), 'order does not')
})
