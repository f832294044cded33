// keel pkg build|show-tag DIR...
import { resolve } from 'node:path'
import { buildPackage, describePackage } from '../../pkg/pkgbuild/index.js'
import { parseCommandArgs } from './args.js'
import { createBuildContext } from './context.js'
import { UsageError, type CliIO } from './io.js'

export const pkgUsage = `usage: keel pkg build [options] DIR...
       keel pkg show-tag DIR...

build     builds each package folder (DIR/build.yml) into an image in keel's
          store, tagged by a hash of the folder's content; prints the reference.
          An unchanged folder is not rebuilt.
show-tag  prints the reference a package folder builds, without building.

options (build):
      --force          rebuild even when the store has the tag
      --mirror URL     Debian archive (default: the host's apt sources)
      --suite SUITE    Debian suite with --mirror (default: the host's release)
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
    mirror: { type: 'string' },
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
      for (const dir of dirs) io.stdout.write(`${(await describePackage(dir)).ref}\n`)
      return 0
    case 'build': {
      const ctx = await createBuildContext(io, { mirror: values.mirror, suite: values.suite, force: values.force, verbose: values.verbose })
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
