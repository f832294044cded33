// keel build [-o DIR] [--name NAME] [-f FORMAT]... MANIFEST...
import { mkdir } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import type { Readable } from 'node:stream'
import { assembleTree, treeToTar } from '../../pkg/assemble/index.js'
import { ContentStore } from '../../pkg/layers/index.js'
import { capturePackageDatabases, writeSbom } from './sbom.js'
import { version } from './version.js'
import { UserError, withAction } from '../../pkg/errors/index.js'
import { stringify as toYaml } from 'yaml'
import { loadManifests, manifestData } from '../../pkg/manifest/index.js'
import { bootFilesFrom, conflictingFormats, formatTools, outputFormats, type OutputContext } from '../../pkg/output/index.js'
import { requireTools } from '../../pkg/exec/index.js'
import { resolveImages } from '../../pkg/resolve/index.js'
import { parseCommandArgs, parseIntOption, parseSize } from './args.js'
import { createBuildContext, registryOptions, registryUsage } from './context.js'
import { UsageError, type CliIO } from './io.js'

export const buildUsage = `usage: keel build [options] MANIFEST...

Builds an OS image from one or more manifests (merged in order; "-" reads stdin).

options:
  -o, --output DIR     folder for the output files (default: current folder)
  -n, --name NAME      base name of the output files (default: first manifest's name)
  -f, --format FORMAT  output format, repeatable (default: kernel+initrd)
                       formats: ${Object.keys(outputFormats).join(', ')}
      --size SIZE      disk size for disk formats, e.g. 512M, 2G (default: what the image needs)
      --mirror URL     Debian archive for package builds (default: the host's apt sources)
      --suite SUITE    Debian suite with --mirror (default: the host's release)
      --dry-run        check and merge the manifests, print the result, build nothing
      --pull           pull registry images even when the store has them
      --report         also write NAME-report.html: a boot timeline (one boot under
                       QEMU) and the image's size by component (docs/report.md)
      --report=FILE    the same, written to FILE
      --report-timeout SECONDS  how long the report's boot may take (default 120)
${registryUsage}
  -v, --verbose        show package build steps as they run
`

export async function buildCommand(io: CliIO, args: string[]): Promise<number> {
  // --report takes an optional FILE, which parseArgs cannot express: --report=FILE.
  const { values, positionals } = parseCommandArgs(args.flatMap((a) => a.startsWith('--report=') ? ['--report', '--report-file', a.slice(9)] : [a]), {
    output: { type: 'string', short: 'o' },
    name: { type: 'string', short: 'n' },
    format: { type: 'string', short: 'f', multiple: true },
    size: { type: 'string' },
    mirror: { type: 'string' },
    suite: { type: 'string' },
    verbose: { type: 'boolean', short: 'v' },
    'dry-run': { type: 'boolean' },
    pull: { type: 'boolean' },
    report: { type: 'boolean' },
    'report-file': { type: 'string' },
    'report-timeout': { type: 'string' },
    ...registryOptions,
    help: { type: 'boolean', short: 'h' },
  }, buildUsage)
  if (values.help) {
    io.stdout.write(buildUsage)
    return 0
  }
  if (positionals.length === 0) throw new UsageError('no manifest given', buildUsage)
  const formats = [...new Set(values.format ?? ['kernel+initrd'])]
  for (const f of formats) {
    if (!outputFormats[f]) throw new UsageError(`unknown format ${JSON.stringify(f)}; known: ${Object.keys(outputFormats).join(', ')}`, buildUsage)
  }
  for (const group of conflictingFormats) {
    const both = group.filter((g) => formats.includes(g))
    if (both.length > 1) throw new UsageError(`formats ${both.join(' and ')} write the same file names (as in LinuxKit); build them one at a time`, buildUsage)
  }
  const sizeBytes = values.size === undefined ? undefined : parseSize(values.size, buildUsage)
  const first = positionals[0]!
  const name = values.name ?? (first === '-' ? 'keel' : basename(first).replace(/\.ya?ml$/, ''))
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new UserError(`--name ${JSON.stringify(name)}: use letters, digits, ".", "_" and "-"`)
  const outDir = resolve(io.cwd, values.output ?? '.')
  if (values['report-file'] === '') throw new UsageError('--report=FILE: FILE is empty', buildUsage)
  const reportFile = values['report-file'] !== undefined ? resolve(io.cwd, values['report-file'])
    : values.report ? join(outDir, `${name}-report.html`) : undefined
  const reportTimeout = parseIntOption(values['report-timeout'], 'report-timeout', buildUsage, 120)
  if (reportTimeout < 1) throw new UsageError('--report-timeout must be at least 1', buildUsage)

  // Every problem in every manifest is reported before any work is done.
  const manifest = await loadManifests(positionals, io.readStdin, io.cwd)
  for (const w of manifest.warnings) io.log.warn(w)
  if (values['dry-run']) {
    io.stdout.write(toYaml(manifestData(manifest), { lineWidth: 0 }))
    return 0
  }
  // The host tools the formats need, before any download or build.
  // pkg/report (and the QEMU runner it uses) is loaded only for --report.
  const report = reportFile ? await import('../../pkg/report/index.js') : undefined
  requireTools([...formats.flatMap((f) => formatTools[f] ?? []), ...(report ? report.reportTools : [])])
  const ctx = await createBuildContext(io, {
    mirror: values.mirror, suite: values.suite, verbose: values.verbose,
    platform: values.platform, insecureRegistry: values['insecure-registry'], pull: values.pull,
  })
  const images = await resolveImages(manifest, ctx)
  const epoch = ctx.sourceDateEpoch ?? 0
  const content = await ContentStore.create(join(ctx.cacheDir, 'tmp'))
  try {
    const assembled = await withAction('assembling the root filesystem', () =>
      assembleTree({ manifest, images, content, capture: capturePackageDatabases }))
    await mkdir(outDir, { recursive: true })
    // Scratch folders live beside the content store and go with it.
    let scratchCount = 0
    const scratch = async (): Promise<string> => {
      const dir = join(content.dir, `scratch-${scratchCount++}`)
      await mkdir(dir)
      return dir
    }
    const tar = (): Readable => treeToTar(assembled.tree, epoch)
    const out: OutputContext = {
      dir: outDir, name, mtime: epoch, tar, scratch, runner: ctx.runner,
      bootFiles: bootFilesFrom(tar, scratch, epoch),
      ...(sizeBytes === undefined ? {} : { sizeBytes }),
    }
    const written: string[] = []
    for (const format of formats) {
      const files = await withAction(`writing ${format}`, () => outputFormats[format]!(out))
      for (const f of files) io.stdout.write(`${f}\n`)
      written.push(...files)
    }
    const sbom = await withAction('writing the SBOM', () => writeSbom(outDir, name, assembled.images, epoch, version()))
    io.stdout.write(`${sbom}\n`)
    if (reportFile && report) {
      const page = await withAction('writing the build report', () => report.writeBuildReport({
        file: reportFile, dir: outDir, name, formats, keelVersion: version(), tree: assembled.tree,
        filesPaths: manifest.files.map((f) => f.path), written, timeoutMs: reportTimeout * 1000,
        cacheDir: ctx.cacheDir, onProgress: (m) => io.log.info(m),
      }))
      if (page.boot.status !== 'done') io.log.warn(page.boot.note)
      io.stdout.write(`${page.file}\n`)
    }
  } finally {
    await content.dispose()
  }
  return 0
}
