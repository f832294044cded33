// keel validate FILE...
import { checkManifestFiles } from '../../pkg/manifest/index.js'
import { parseCommandArgs } from './args.js'
import { UsageError, type CliIO } from './io.js'

export const validateUsage = `usage: keel validate FILE...

Checks manifests (merged in order, as keel build merges them; "-" reads
stdin) without pulling or building anything. Prints every problem as
FILE:LINE:COL: PATH: MESSAGE and exits 1 when there is any.
`

export async function validateCommand(io: CliIO, args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, { help: { type: 'boolean', short: 'h' } }, validateUsage)
  if (values.help) {
    io.stdout.write(validateUsage)
    return 0
  }
  if (positionals.length === 0) throw new UsageError('no manifest given', validateUsage)
  const result = await checkManifestFiles(positionals, io.readStdin, io.cwd)
  for (const w of result.warnings) io.log.warn(w)
  for (const p of result.problems) io.stdout.write(`${p}\n`)
  if (result.problems.length > 0 || !result.manifest) {
    io.log.error(`${result.problems.length} problem${result.problems.length === 1 ? '' : 's'} in ${positionals.join(', ')}`)
    return 1
  }
  io.log.info(`${positionals.length === 1 ? positionals[0] : `${positionals.length} manifests`}: valid`)
  return 0
}
