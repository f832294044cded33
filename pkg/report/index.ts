// `keel build --report`: after the outputs are written, one HTML page with the
// boot's timeline (one boot under QEMU, read from the console) and the
// image's size by component (from the assembled tree). docs/report.md.
import { mkdir, stat } from 'node:fs/promises'
import { basename, dirname, resolve } from 'node:path'
import type { ToolRequirement } from '../exec/index.js'
import type { FsTree } from '../layers/index.js'
import { writeFileAtomic } from '../store/index.js'
import { timeBoot } from './boot.js'
import { renderReport, type BootOutcome } from './html.js'
import { measureTree } from './sizes.js'

export { parseBootConsole, type BootEvent, type BootEventKind, type BootTimeline } from './events.js'
export { measureTree, type PartKind, type SizePart } from './sizes.js'
export { escapeHtml, formatBytes, renderReport, type BootedImage, type BootOutcome, type FirmwareName, type ReportData } from './html.js'
export { chooseBootInput, describeBoot, pickBoot, timeBoot, type BootChoice, type TimedBootOptions } from './boot.js'
export { estimateKernelStart, LineClock, type TimedLine } from './clock.js'

/** What the report's boot needs on the host: checked before the build starts. */
export const reportTools: readonly ToolRequirement[] = [{ command: 'qemu-system-x86_64', debianPackage: 'qemu-system-x86' }]

export interface BuildReportInput {
  /** Where the report goes. */
  file: string
  dir: string
  name: string
  formats: string[]
  keelVersion: string
  tree: FsTree
  /** The manifest's files: paths. */
  filesPaths: string[]
  /** Every file the build wrote. */
  written: string[]
  timeoutMs: number
  cacheDir?: string
  onProgress?: (message: string) => void
}

export interface BuildReport {
  file: string
  boot: BootOutcome
}

/** Times one boot of the built image, then writes the report page. */
export async function writeBuildReport(input: BuildReportInput): Promise<BuildReport> {
  const parts = measureTree(input.tree, input.filesPaths)
  const outputs = await Promise.all(input.written.map(async (f) => ({ file: basename(f), bytes: (await stat(f)).size })))
  const boot = await timeBoot({
    dir: input.dir, name: input.name, written: input.written, timeoutMs: input.timeoutMs,
    ...(input.cacheDir === undefined ? {} : { cacheDir: input.cacheDir }),
    ...(input.onProgress === undefined ? {} : { onProgress: input.onProgress }),
  })
  const html = renderReport({ name: input.name, keelVersion: input.keelVersion, formats: input.formats, parts, outputs, boot })
  const file = resolve(input.file)
  await mkdir(dirname(file), { recursive: true })
  await writeFileAtomic(file, html)
  return { file, boot }
}
