import t from 'tap'
import { readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createLogger } from '../../pkg/log/index.js'
import type { CliIO } from './io.js'
import { run } from './main.js'

function io(cwd: string, env: NodeJS.ProcessEnv = {}, stdin = ''): CliIO & { out: string[]; err: string[] } {
  const out: string[] = []
  const err: string[] = []
  const stderr = { write: (s: string) => err.push(s) }
  return {
    out, err, cwd, env: { ...env },
    stdout: { write: (s: string) => out.push(s) },
    stderr,
    readStdin: async () => stdin,
    log: createLogger('info', stderr),
  }
}

t.test('usage: no command, unknown command, unknown flag → exit 2', async (t) => {
  const a = io('/')
  t.equal(await run(a, []), 2)
  t.match(a.err.join(''), /usage: keel/)
  const b = io('/')
  t.equal(await run(b, ['frobnicate']), 2)
  t.match(b.err.join(''), /unknown command "frobnicate"/)
  const c = io('/')
  t.equal(await run(c, ['build', '--bogus', 'x.yml']), 2)
  t.match(c.err.join(''), /Unknown option '--bogus'[\s\S]*usage: keel build/)
  const d = io('/')
  t.equal(await run(d, ['build']), 2)
  t.match(d.err.join(''), /no manifest given/)
})

t.test('help and version go to stdout with exit 0', async (t) => {
  const a = io('/')
  t.equal(await run(a, ['--help']), 0)
  t.match(a.out.join(''), /commands:/)
  const b = io('/')
  t.equal(await run(b, ['version']), 0)
  t.match(b.out.join(''), /^keel \d+\.\d+\.\d+\n$/)
  const c = io('/')
  t.equal(await run(c, ['build', '--help']), 0)
  t.match(c.out.join(''), /kernel\+initrd/)
})

t.test('a bad manifest fails with file:line:col before any work, and writes nothing', async (t) => {
  const dir = t.testdir({ 'bad.yml': 'kernel:\n  image: x\nservices:\n  - name: a\n    imgae: y\n', out: {} })
  const cache = join(dir, 'cache')
  const a = io(dir, { KEEL_CACHE: cache })
  t.equal(await run(a, ['build', '-o', 'out', 'bad.yml']), 1)
  t.match(a.err.join(''), /bad\.yml:4:5: services\[0\]: missing required field "image"/)
  t.same(readdirSync(join(dir, 'out')), [])
  t.throws(() => readdirSync(cache), 'no cache touched')
})

t.test('a manifest from stdin and a missing file', async (t) => {
  const dir = t.testdir({})
  const a = io(dir, { KEEL_CACHE: join(dir, 'c') }, 'services:\n  - name: x\n')
  t.equal(await run(a, ['build', '-']), 1)
  t.match(a.err.join(''), /<stdin>:2:5: services\[0\]: missing required field "image"/)
  const b = io(dir)
  t.equal(await run(b, ['build', 'absent.yml']), 1)
  t.match(b.err.join(''), /absent\.yml: no such file/)
})

t.test('an image that cannot be pulled is named with its place in the manifest; exit 1, no stack', async (t) => {
  const { createServer } = await import('node:net')
  const port = await new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port
      srv.close(() => resolve(p))
    })
  })
  const dir = t.testdir({ 'm.yml': `init:\n  - 127.0.0.1:${port}/not/here:1\n` })
  const a = io(dir, { KEEL_CACHE: join(dir, 'cache') })
  t.equal(await run(a, ['build', 'm.yml']), 1)
  const err = a.err.join('')
  t.match(err, new RegExp(`m\\.yml:2:5: init\\[0\\]: pulling 127\\.0\\.0\\.1:${port}/not/here:1: failed after 4 attempts: GET http://127\\.0\\.0\\.1:${port}/v2/not/here/manifests/1: .*ECONNREFUSED`))
  t.notMatch(err, /\n\s+at /, 'no stack trace')
})

t.test('keel pkg show-tag prints the reference without building', async (t) => {
  const dir = t.testdir({ p: { 'build.yml': 'image: thing\norg: example\n' } })
  writeFileSync(join(dir, 'p', 'extra'), 'x')
  const a = io(dir)
  t.equal(await run(a, ['pkg', 'show-tag', 'p']), 0)
  t.match(a.out.join(''), /^docker\.io\/example\/thing:[0-9a-f]{20}\n$/)
})

t.test('keel run qemu with nothing to boot says what is missing', async (t) => {
  const dir = t.testdir({})
  const a = io(dir)
  t.equal(await run(a, ['run', 'qemu', '--accel', 'tcg', 'nothing']), 1)
  t.match(a.err.join(''), /nothing-kernel and .*nothing-initrd\.img not found/)
  const b = io(dir)
  t.equal(await run(b, ['run', 'qemu', '--accel', 'warp', 'x']), 2)
})

t.test('a format whose host tools are missing is refused before any work, naming the Debian packages', async (t) => {
  const dir = t.testdir({ 'm.yml': 'init:\n  - example.invalid/init:1\n', out: {} })
  const cache = join(dir, 'cache')
  const a = io(dir, { KEEL_CACHE: cache })
  const path = process.env.PATH
  process.env.PATH = join(dir, 'out') // an empty folder: no tool is found
  t.teardown(() => { process.env.PATH = path })
  t.equal(await run(a, ['build', '-o', 'out', '-f', 'kernel+squashfs', '-f', 'qcow2-bios', 'm.yml']), 1)
  process.env.PATH = path
  const err = a.err.join('')
  t.match(err, /missing tools: .*fakeroot.*mksquashfs/)
  t.match(err, /qemu-img/)
  t.match(err, /apt-get install -y .*qemu-utils.*squashfs-tools/)
  t.same(readdirSync(join(dir, 'out')), [], 'nothing written')
  t.throws(() => readdirSync(cache), 'no cache touched: the image was not even looked up')
})
