// The compiler cache a package's build steps run with: ccache, when the host
// has it. A warm rebuild runs every build step again, and most of that time
// is C compiles whose sources, flags and compiler have not changed; ccache
// answers those from its cache with the same bytes the compiler would write.
//
// How the steps reach it: a folder of links named like the compilers on PATH
// (cc, gcc, musl-gcc's x86_64-linux-gnu-gcc, ...), each pointing at ccache,
// goes first on the steps' PATH (ccache's "masquerade" mode: it finds the
// real compiler further along PATH). Every build works in a fresh temporary
// folder, so CCACHE_BASEDIR is that folder: ccache hashes paths inside it
// relative to the working directory, and builds of the same sources in
// different folders share results. A compile with debug info (-g) also
// hashes its working directory, so it misses when that is a new folder.
//
// Trust: ccache keys a result by the compiler (its size and mtime), every
// option and the preprocessed input or, in its direct mode, every header
// read; each stored result carries a checksum, and a result that fails it is
// a miss and compiled again. The cache lives in CACHE/ccache, within ccache's
// own size limit (5 GB unless its configuration there says otherwise).
import { createHash } from 'node:crypto'
import { realpathSync } from 'node:fs'
import { lstat, mkdir, mkdtemp, readFile, readlink, rename, rm, symlink } from 'node:fs/promises'
import { delimiter, isAbsolute, join } from 'node:path'
import { findOnPath } from '../exec/index.js'

/** The C and C++ compiler names given to ccache, with the host's triplet forms. */
export function compilerNames(arch: string = process.arch): string[] {
  const triplet = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' }[arch]
  const names = ['cc', 'c++', 'gcc', 'g++', 'clang', 'clang++']
  if (triplet !== undefined) names.push(`${triplet}-gcc`, `${triplet}-g++`)
  return names
}

export interface CompileCache {
  /** ccache's path. */
  ccache: string
  /** The compiler names it stands in for (those PATH has). */
  compilers: string[]
  /** What the build steps' environment gets. */
  env: Record<string, string>
  /** The file ccache logs each compile's result to (see readStats). */
  statsLog: string
}

export interface CompileCacheOptions {
  /** The PATH to search (default: this process's). */
  path?: string
  arch?: string
}

/**
 * The compile cache for one build whose scratch folder is `work`, or
 * undefined when PATH has no ccache or none of the compilers.
 */
export async function compileCache(cacheDir: string, work: string, options: CompileCacheOptions = {}): Promise<CompileCache | undefined> {
  const path = options.path ?? process.env['PATH'] ?? ''
  const ccache = findOnPath('ccache', path)
  if (ccache === undefined) return undefined
  const ccacheReal = realpathSync(ccache)
  const compilers = compilerNames(options.arch).filter((name) => findCompiler(name, path, ccacheReal) !== undefined)
  if (compilers.length === 0) return undefined
  const bin = await linkFolder(cacheDir, ccacheReal, compilers)
  const statsLog = join(work, 'ccache-stats.log')
  return {
    ccache: ccacheReal,
    compilers,
    statsLog,
    env: {
      PATH: [bin, path].filter((p) => p !== '').join(delimiter),
      CCACHE_DIR: join(cacheDir, 'ccache'),
      CCACHE_BASEDIR: work,
      CCACHE_STATSLOG: statsLog,
    },
  }
}

/**
 * The first `name` on PATH that is a compiler, not a link to ccache (such as
 * Debian's /usr/lib/ccache or our own folder): ccache in masquerade mode
 * skips those the same way.
 */
function findCompiler(name: string, path: string, ccache: string): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!isAbsolute(dir)) continue
    const found = findOnPath(join(dir, name))
    if (found !== undefined && realpathSync(found) !== ccache) return found
  }
  return undefined
}

/**
 * CACHE/ccache-bin/KEY: one link to ccache per compiler name, KEY a hash of
 * both. Made under a temporary name and renamed into place, so a build never
 * sees it half made, and never changed after: a folder another build renamed
 * in first is used as it is. One whose links are wrong (edited by hand) is
 * renamed aside, never deleted in place, so a build racing this one cannot
 * lose a good folder it has just checked.
 */
async function linkFolder(cacheDir: string, ccache: string, compilers: string[]): Promise<string> {
  const key = createHash('sha256').update(JSON.stringify([ccache, compilers])).digest('hex').slice(0, 16)
  const parent = join(cacheDir, 'ccache-bin')
  const dir = join(parent, key)
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await linksPointAt(dir, ccache, compilers)) return dir
    await mkdir(parent, { recursive: true })
    if (await exists(dir)) {
      const aside = await mkdtemp(join(parent, `.${key}-bad-`))
      await rename(dir, join(aside, 'links')).catch(() => undefined)
      await rm(aside, { recursive: true, force: true })
    }
    const tmp = await mkdtemp(join(parent, `.${key}-`))
    try {
      for (const name of compilers) await symlink(ccache, join(tmp, name))
      // Another build may have renamed its own in first: the same links.
      await rename(tmp, dir).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err
      })
    } finally {
      await rm(tmp, { recursive: true, force: true })
    }
  }
  if (await linksPointAt(dir, ccache, compilers)) return dir
  throw new Error(`${dir}: its links to ${ccache} could not be made`)
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(() => true, () => false)
}

async function linksPointAt(dir: string, target: string, names: string[]): Promise<boolean> {
  for (const name of names) {
    const to = await readlink(join(dir, name)).catch(() => undefined)
    if (to !== target) return false
  }
  return true
}

export interface CompileStats {
  /** Compiles answered from the cache. */
  hits: number
  /** Compiles that ran the compiler and stored their result. */
  misses: number
  /** Calls ccache passed on without caching (links, preprocessing only, probes). */
  uncached: number
}

/**
 * Counts a stats log: a "# SOURCE" line per call, then the counters that
 * call moved (direct_cache_hit, preprocessed_cache_hit, cache_miss, ...).
 * A missing log (no compile ran) is all zeros.
 */
export async function readStats(statsLog: string): Promise<CompileStats> {
  const text = await readFile(statsLog, 'utf8').catch(() => '')
  const stats: CompileStats = { hits: 0, misses: 0, uncached: 0 }
  for (const call of text.split(/^# .*$/m).slice(1)) {
    const counters = call.split('\n').map((l) => l.trim())
    if (counters.includes('direct_cache_hit') || counters.includes('preprocessed_cache_hit')) stats.hits++
    else if (counters.includes('cache_miss')) stats.misses++
    else stats.uncached++
  }
  return stats
}
