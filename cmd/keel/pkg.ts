// keel pkg build|push|show-tag DIR...
import { existsSync } from 'node:fs'
import { isAbsolute, join, resolve } from 'node:path'
import type { ResolveContext } from '../../pkg/resolve/index.js'
import { buildPackage, checkPackageRegistry, describePackage, lockFileName, parseBuildArg } from '../../pkg/pkgbuild/index.js'
import { parseCommandArgs, parseIntOption } from './args.js'
import { createBuildContext } from './context.js'
import { UsageError, type CliIO } from './io.js'

export const pkgUsage = `usage: keel pkg build [options] DIR...
       keel pkg push [options] DIR...
       keel pkg show-tag [--build-arg NAME=VALUE]... DIR...

build     builds each package folder (DIR/build.yml) into an image in keel's
          store, tagged by a hash of the folder's content; prints the reference.
          An unchanged folder is not rebuilt. When a registry is configured
          (--registry, or a registry host in build.yml's org, such as
          org: 127.0.0.1:5000/keel) and the store lacks the tag, that exact
          tag is pulled from the registry first; only a registry that does
          not have it (HTTP 404) leads to a build. One that cannot be reached
          or refuses access is a warning, and the package is built here.
          Debian packages come from DIR/build.lock, which pins each one's
          version, archive path, size and SHA256: only those files are
          fetched (or taken from the cache, so a build works offline) and
          each must match its pin. Without a build.lock, the packages are
          resolved from the archive (InRelease signature checked with gpgv,
          Valid-Until enforced, every index and .deb checked by SHA256) and
          build.lock is written before the tag is computed: the lock is
          part of the folder, so of the tag. A build.lock whose request no
          longer matches build.yml's packages/exclude is an error.
push      build, then push each image to its registry (as build --push).
show-tag  prints the reference a package folder builds, without building.

options (build, push):
      --force          rebuild even when the store (or the registry) has the tag
      --push           push each image to its registry after building it:
                       REGISTRY/ORG/IMAGE:TAG with --registry, the image's own
                       reference otherwise (docker.io/ORG/IMAGE:TAG when org
                       names no registry host, as LinuxKit does)
      --registry HOST[:PORT][/PATH]
                       registry package images are pulled from and pushed to,
                       as HOST/PATH/ORG/IMAGE:TAG (a registry host in org is
                       replaced); default $KEEL_PKG_REGISTRY
      --insecure-registry H
                       reach registry H (host[:port]) over plain HTTP (localhost always is)
      --build-arg NAME=VALUE
                       set a build arg (over build.yml's buildArgs): in the build
                       steps' environment, and part of the tag (repeatable)
  -j, --jobs N         build N folders at a time (default 2; output stays in order)
      --update-lock    resolve the Debian packages again and rewrite build.lock
      --no-step-cache  neither use nor fill the step cache nor the compile cache
                       (ccache; see docs/packages.md)
      --mirror URL     Debian archive (default: the host's apt sources)
      --suite SUITE    Debian suite with --mirror (default: the host's release)
      --keyring FILE   keyring the --mirror's InRelease is signed with
                       (default: apt's trusted keyrings and Debian's archive keyring)
  -v, --verbose        show build step output
`

export async function pkgCommand(io: CliIO, args: string[]): Promise<number> {
  const [sub, ...rest] = args
  if (sub === undefined || sub === '-h' || sub === '--help') {
    io.stdout.write(pkgUsage)
    return sub === undefined ? 2 : 0
  }
  const { values, positionals } = parseCommandArgs(rest, {
    force: { type: 'boolean' },
    push: { type: 'boolean' },
    registry: { type: 'string' },
    'insecure-registry': { type: 'string', multiple: true },
    'build-arg': { type: 'string', multiple: true },
    'update-lock': { type: 'boolean' },
    'no-step-cache': { type: 'boolean' },
    jobs: { type: 'string', short: 'j' },
    mirror: { type: 'string' },
    keyring: { type: 'string' },
    suite: { type: 'string' },
    verbose: { type: 'boolean', short: 'v' },
    help: { type: 'boolean', short: 'h' },
  }, pkgUsage)
  if (values.help) {
    io.stdout.write(pkgUsage)
    return 0
  }
  if (positionals.length === 0) throw new UsageError('no package folder given', pkgUsage)
  const dirs = positionals.map((p) => resolve(io.cwd, p))
  const buildArgs = new Map<string, string>()
  for (const raw of values['build-arg'] ?? []) {
    const arg = parseBuildArg(raw)
    if (typeof arg === 'string') throw new UsageError(`--build-arg ${arg}`, pkgUsage)
    buildArgs.set(arg.name, arg.value)
  }
  switch (sub) {
    case 'show-tag':
      for (const dir of dirs) {
        const pkg = await describePackage(dir, { buildArgs })
        if (pkg.spec.packages.length > 0 && !existsSync(join(dir, lockFileName))) {
          io.log.warn(`${dir} has no ${lockFileName} yet: \`keel pkg build\` writes one, and the tag then changes`)
        }
        io.stdout.write(`${pkg.ref}\n`)
      }
      return 0
    case 'build':
    case 'push': {
      if (values.keyring !== undefined && values.mirror === undefined) throw new UsageError('--keyring goes with --mirror', pkgUsage)
      const fromEnv = io.env['KEEL_PKG_REGISTRY']
      const registry = values.registry ?? (fromEnv === '' ? undefined : fromEnv)
      if (registry !== undefined) {
        const problem = checkPackageRegistry(registry)
        if (problem !== undefined) throw new UsageError(`${values.registry === undefined ? '$KEEL_PKG_REGISTRY' : '--registry'}: ${problem}`, pkgUsage)
      }
      const ctx = await createBuildContext(io, {
        mirror: values.mirror, suite: values.suite, force: values.force, verbose: values.verbose, insecureRegistry: values['insecure-registry'],
      })
      if (values.keyring !== undefined && ctx.archive?.sources !== undefined) {
        const keyring = isAbsolute(values.keyring) ? values.keyring : resolve(io.cwd, values.keyring)
        ctx.archive.sources = ctx.archive.sources.map((s) => ({ ...s, signedBy: keyring }))
      }
      if (values['update-lock'] === true) ctx.updateLock = true
      if (values['no-step-cache'] === true) ctx.stepCache = false
      if (buildArgs.size > 0) ctx.buildArgs = buildArgs
      if (registry !== undefined) ctx.packageRegistry = registry
      if (sub === 'push' || values.push === true) ctx.push = true
      const jobs = parseIntOption(values.jobs, 'jobs', pkgUsage, 2)
      if (jobs < 1) throw new UsageError('--jobs must be at least 1', pkgUsage)
      for (const ref of await buildAll(dirs, ctx, jobs)) io.stdout.write(`${ref}\n`)
      return 0
    }
    default:
      throw new UsageError(`unknown pkg command ${JSON.stringify(sub)}`, pkgUsage)
  }
}

/**
 * Builds the folders, `jobs` at a time (one's build steps run while another
 * unpacks or packs); the references in the folders' order. After a failure
 * nothing new starts, and the first error is thrown once the others finish.
 */
async function buildAll(dirs: string[], ctx: ResolveContext, jobs: number): Promise<string[]> {
  const refs: string[] = []
  let next = 0
  let failure: { err: unknown } | undefined
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < dirs.length) {
      const i = next++
      try {
        const result = await buildPackage(dirs[i]!, ctx)
        refs[i] = result.pushedTo ?? result.ref
      } catch (err) {
        failure ??= { err }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(jobs, dirs.length) }, worker))
  if (failure !== undefined) throw failure.err
  return refs
}
