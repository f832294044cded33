// The compile cache against the real ccache (scripts/setup.sh installs it):
// builds in different scratch folders share results, a hit gives the
// compiler's own bytes, a changed header misses, a corrupt entry is compiled
// again; and a package build whose step compiles C gets the same image with
// and without the cache.
import t from 'tap'
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createRealRunner, findOnPath } from '../exec/index.js'
import { createMemoryLogger } from '../log/index.js'
import { Store, storeDir } from '../store/index.js'
import { buildPackage } from './build.js'
import { compileCache, compilerNames, readStats } from './compile-cache.js'

const runner = createRealRunner()
const ccache = findOnPath('ccache')
const noCcache = ccache === undefined ? 'ccache is not installed (sh scripts/setup.sh installs it)' : false

t.test('compiler names: the plain ones and the host triplet forms musl-gcc calls', async (t) => {
  t.ok(compilerNames('x64').includes('x86_64-linux-gnu-gcc'))
  t.ok(compilerNames('arm64').includes('aarch64-linux-gnu-g++'))
  t.same(compilerNames('riscv64'), ['cc', 'c++', 'gcc', 'g++', 'clang', 'clang++'])
})

t.test('no ccache on PATH: no compile cache', async (t) => {
  const dir = t.testdir({ bin: {} })
  t.equal(await compileCache(join(dir, 'cache'), join(dir, 'work'), { path: join(dir, 'bin') }), undefined)
})

t.test('a PATH with ccache but no compiler: no compile cache', async (t) => {
  const dir = t.testdir({ bin: {} })
  symlinkSync('/bin/true', join(dir, 'bin', 'ccache'))
  t.equal(await compileCache(join(dir, 'cache'), join(dir, 'work'), { path: join(dir, 'bin') }), undefined)
})

t.test('the links folder: one link per compiler found, links to ccache skipped, made once', async (t) => {
  const dir = t.testdir({ fake: {}, real: {}, masq: {} })
  const fakeCcache = join(dir, 'fake', 'ccache')
  writeFileSync(fakeCcache, '#!/bin/sh\n')
  chmodSync(fakeCcache, 0o755)
  for (const name of ['gcc', 'cc']) {
    writeFileSync(join(dir, 'real', name), '#!/bin/sh\n')
    chmodSync(join(dir, 'real', name), 0o755)
  }
  // Like Debian's /usr/lib/ccache, first on PATH: its gcc is ccache, and
  // its g++ (a link with no real g++ behind it) is no compiler at all.
  symlinkSync(fakeCcache, join(dir, 'masq', 'gcc'))
  symlinkSync(fakeCcache, join(dir, 'masq', 'g++'))
  const path = [join(dir, 'masq'), join(dir, 'fake'), join(dir, 'real')].join(':')
  const cache = join(dir, 'cache')
  const cc = await compileCache(cache, join(dir, 'work'), { path, arch: 'riscv64' })
  t.ok(cc)
  t.same(cc!.compilers, ['cc', 'gcc'])
  const bin = cc!.env['PATH']!.split(':')[0]!
  t.same(readdirSync(bin).sort(), ['cc', 'gcc'])
  t.equal(readlinkSync(join(bin, 'gcc')), realpathSync(fakeCcache))
  t.equal(cc!.env['PATH'], `${bin}:${path}`)
  t.equal(cc!.env['CCACHE_DIR'], join(cache, 'ccache'))
  t.equal(cc!.env['CCACHE_BASEDIR'], join(dir, 'work'))
  const inode = statSync(bin).ino
  const again = await compileCache(cache, join(dir, 'work2'), { path, arch: 'riscv64' })
  t.equal(again!.env['PATH']!.split(':')[0], bin)
  t.equal(statSync(bin).ino, inode, 'the folder was kept')
  t.same(readdirSync(join(cache, 'ccache-bin')), [bin.split('/').pop()], 'no temporary folder left')
  // A link pointing elsewhere (a half-made or stale folder) is made again.
  const gcc = join(bin, 'gcc')
  chmodSync(bin, 0o755)
  rmSync(gcc)
  symlinkSync('/bin/false', gcc)
  const mended = await compileCache(cache, join(dir, 'work3'), { path, arch: 'riscv64' })
  t.equal(readlinkSync(join(mended!.env['PATH']!.split(':')[0]!, 'gcc')), realpathSync(fakeCcache))
})

t.test('builds starting at once all get the one links folder', { skip: noCcache }, async (t) => {
  const dir = t.testdir({})
  const cache = join(dir, 'cache')
  const all = await Promise.all(Array.from({ length: 8 }, (_, i) => compileCache(cache, join(dir, `work${i}`))))
  const bins = new Set(all.map((cc) => cc!.env['PATH']!.split(':')[0]))
  t.equal(bins.size, 1)
  t.same(readdirSync(join(cache, 'ccache-bin')).length, 1, 'no temporary folder left')
})

t.test('readStats counts hits, misses and calls it did not cache', async (t) => {
  const dir = t.testdir({
    log: [
      '# ', 'no_input_file',
      '# /w/src/a.c', 'direct_cache_hit', 'local_storage_hit', 'local_storage_read_hit',
      '# /w/src/b.c', 'preprocessed_cache_hit',
      '# /w/src/c.c', 'cache_miss', 'direct_cache_miss', 'local_storage_miss', 'local_storage_write',
      '# ', 'called_for_link', '',
    ].join('\n'),
  })
  t.same(await readStats(join(dir, 'log')), { hits: 2, misses: 1, uncached: 2 })
  t.same(await readStats(join(dir, 'none')), { hits: 0, misses: 0, uncached: 0 }, 'no log: nothing compiled')
})

/** Compiles two files and links them in `work` (a fresh scratch folder), through the cache. */
async function compileIn(cacheDir: string, work: string, src: string): Promise<{ bin: Buffer; stats: Awaited<ReturnType<typeof readStats>> }> {
  const cc = await compileCache(cacheDir, work)
  if (cc === undefined) throw new Error('no compile cache')
  mkdirSync(join(work, 'obj'), { recursive: true })
  await runner.run('sh', ['-ec', 'cc -O2 -c -o "$W/obj/a.o" a.c && cc -O2 -c -o "$W/obj/b.o" b.c && cc -o "$W/obj/hello" "$W/obj/a.o" "$W/obj/b.o"'], {
    cwd: src, env: { ...cc.env, W: work },
  })
  return { bin: readFileSync(join(work, 'obj', 'hello')), stats: await readStats(cc.statsLog) }
}

t.test('real ccache: shared between scratch folders, the same bytes, a changed header misses, a corrupt entry is compiled again', { skip: noCcache }, async (t) => {
  const dir = t.testdir({
    src: {
      'a.c': '#include "h.h"\nint main(void) { return answer() - ANSWER; }\n',
      'b.c': '#include "h.h"\nint answer(void) { return ANSWER; }\n',
      'h.h': '#define ANSWER 42\nint answer(void);\n',
    },
  })
  const cache = join(dir, 'cache')
  const src = join(dir, 'src')
  const scratch = (): string => mkdtempSync(join(dir, 'work-'))

  const first = await compileIn(cache, scratch(), src)
  t.match(first.stats, { hits: 0, misses: 2 })
  const second = await compileIn(cache, scratch(), src)
  t.match(second.stats, { hits: 2, misses: 0 }, 'another scratch folder hits')
  t.same(second.bin, first.bin, 'the same program')

  writeFileSync(join(src, 'h.h'), '#define ANSWER 43\nint answer(void);\n')
  const changed = await compileIn(cache, scratch(), src)
  t.match(changed.stats, { hits: 0, misses: 2 }, 'a changed header misses')
  t.not(Buffer.compare(changed.bin, first.bin), 0)
  writeFileSync(join(src, 'h.h'), '#define ANSWER 42\nint answer(void);\n')

  // Every stored result with one byte flipped: ccache's checksum finds it.
  const results: string[] = []
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const p = join(d, e)
      if (lstatSync(p).isDirectory()) walk(p)
      else if (e.endsWith('R')) results.push(p)
    }
  }
  walk(join(cache, 'ccache'))
  t.ok(results.length >= 2, 'results are stored in CACHE/ccache')
  for (const p of results) {
    const b = readFileSync(p)
    b[b.length >> 1] = b[b.length >> 1]! ^ 0xff
    writeFileSync(p, b)
  }
  const healed = await compileIn(cache, scratch(), src)
  t.match(healed.stats, { hits: 0, misses: 2 }, 'corrupt results are misses')
  t.same(healed.bin, first.bin, 'and the program is right')
})

t.test('a package build: its C compiles hit on a rebuild, the image is the same with and without the cache', { skip: noCcache }, async (t) => {
  const dir = t.testdir({
    pkg: {
      'build.yml': [
        'image: hello', 'org: test', 'build:',
        '  - mkdir -p "$KEEL_WORK/obj" "$KEEL_ROOTFS/usr/bin"',
        '  - cc -O2 -ffile-prefix-map="$KEEL_PKG_DIR"=. -c -o "$KEEL_WORK/obj/a.o" src/a.c',
        '  - cc -O2 -ffile-prefix-map="$KEEL_PKG_DIR"=. -c -o "$KEEL_WORK/obj/b.o" src/b.c',
        '  - cc -Wl,--build-id=none -o "$KEEL_ROOTFS/usr/bin/hello" "$KEEL_WORK/obj/a.o" "$KEEL_WORK/obj/b.o"',
        '',
      ].join('\n'),
      src: {
        'a.c': 'int answer(void);\nint main(void) { return answer() - 42; }\n',
        'b.c': 'int answer(void) { return 42; }\n',
      },
    },
  })
  const cacheDir = join(dir, 'cache')
  const store = await Store.open(storeDir(cacheDir))
  const build = async (stepCache = true): Promise<{ digest: string; log: string }> => {
    const log = createMemoryLogger()
    const r = await buildPackage(join(dir, 'pkg'), { store, cacheDir, runner, log, force: true, stepCache })
    return { digest: r.descriptor.digest, log: log.lines.join('\n') }
  }
  const first = await build()
  t.match(first.log, /hello: compile cache \(ccache\): 0 hits, 2 misses/)
  const warm = await build()
  t.match(warm.log, /hello: compile cache \(ccache\): 2 hits, 0 misses/)
  t.equal(warm.digest, first.digest, 'a hit gives the same image')
  const off = await build(false)
  t.notMatch(off.log, /compile cache/, '--no-step-cache: no compile cache')
  t.equal(off.digest, first.digest, 'the same image compiled without the cache')
})
