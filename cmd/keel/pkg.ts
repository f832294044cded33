// keel pkg build|show-tag DIR...
import { existsSync } from 'node:fs'
import { isAbsolute, join, resolve } from 'node:path'
import { buildPackage, describePackage, lockFileName } from '../../pkg/pkgbuild/index.js'
import { parseCommandArgs } from './args.js'
import { createBuildContext } from './context.js'
import { UsageError, type CliIO } from './io.js'

export const pkgUsage = `usage: keel pkg build [options] DIR...
       keel pkg show-tag DIR...

build     builds each package folder (DIR/build.yml) into an image in keel's
          store, tagged by a hash of the folder's content; prints the reference.
          An unchanged folder is not rebuilt.
          Debian packages come from DIR/build.lock, which pins each one's
          version, archive path, size and SHA256: only those files are
          fetched (or taken from the cache, so a build works offline) and
          each must match its pin. Without a build.lock, the packages are
          resolved from the archive (InRelease signature checked with gpgv,
          Valid-Until enforced, every index and .deb checked by SHA256) and
          build.lock is written before the tag is computed: the lock is
          part of the folder, so of the tag. A build.lock whose request no
          longer matches build.yml's packages/exclude is an error.
show-tag  prints the reference a package folder builds, without building.

options (build):
      --force          rebuild even when the store has the tag
      --update-lock    resolve the Debian packages again and rewrite build.lock
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
    'update-lock': { type: 'boolean' },
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
  switch (sub) {
    case 'show-tag':
      for (const dir of dirs) {
        const pkg = await describePackage(dir)
        if (pkg.spec.packages.length > 0 && !existsSync(join(dir, lockFileName))) {
          io.log.warn(`${dir} has no ${lockFileName} yet: \`keel pkg build\` writes one, and the tag then changes`)
        }
        io.stdout.write(`${pkg.ref}\n`)
      }
      return 0
    case 'build': {
      if (values.keyring !== undefined && values.mirror === undefined) throw new UsageError('--keyring goes with --mirror', pkgUsage)
      const ctx = await createBuildContext(io, { mirror: values.mirror, suite: values.suite, force: values.force, verbose: values.verbose })
      if (values.keyring !== undefined && ctx.archive?.sources !== undefined) {
        const keyring = isAbsolute(values.keyring) ? values.keyring : resolve(io.cwd, values.keyring)
        ctx.archive.sources = ctx.archive.sources.map((s) => ({ ...s, signedBy: keyring }))
      }
      if (values['update-lock'] === true) ctx.updateLock = true
      for (const dir of dirs) {
        const result = await buildPackage(dir, ctx)
        io.stdout.write(`${result.ref}\n`)
      }
      return 0
    }
    default:
      throw new UsageError(`unknown pkg command ${JSON.stringify(sub)}`, pkgUsage)
  }
}
