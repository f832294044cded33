// The metadata CD for --data and --data-file: an ISO 9660 image labelled
// "cidata" (the NoCloud convention LinuxKit's metadata package looks for)
// holding the data twice, as /user-data and as /config, since that package
// reads user-data first and falls back to config. Made with xorriso, with
// every date and identifier fixed, so the same data gives the same bytes.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { ToolRunner } from '../exec/index.js'
import { wrapError } from '../errors/index.js'

export const metadataVolumeId = 'cidata'
export const metadataFiles = ['user-data', 'config'] as const

/** Dates inside the image: 2000-01-01 00:00:00 UTC, whatever the data. */
const fixedDate = '2000010100000000'
const fixedEpoch = 946684800

export async function writeMetadataIso(data: Uint8Array, out: string, runner: ToolRunner): Promise<void> {
  const work = await mkdtemp(join(dirname(out), '.keel-metadata-'))
  try {
    const file = join(work, 'user-data')
    await writeFile(file, data)
    await rm(out, { force: true })
    await runner.run('xorriso', [
      // SORRY: the lower-case volume ID is a warning (ISO 9660 wants upper case; every reader takes it)
      '-report_about', 'SORRY',
      '-volume_date', 'c', fixedDate, '-volume_date', 'm', fixedDate,
      '-volume_date', 'x', 'default', '-volume_date', 'f', 'default',
      '-volume_date', 'uuid', fixedDate, '-iso_nowtime', `=${fixedEpoch}`,
      '-outdev', out, '-volid', metadataVolumeId, '-joliet', 'on', '-padding', '0',
      ...metadataFiles.flatMap((name) => ['-map', file, `/${name}`]),
      '-chown_r', '0', '/', '--', '-chgrp_r', '0', '/', '--',
      '-chmod_r', '0444', '/', '--', '-chmod', '0555', '/', '--',
      ...['a', 'm', 'c'].flatMap((kind) => ['-alter_date_r', kind, `=${fixedEpoch}`, '/', '--']),
    ], { env: { SOURCE_DATE_EPOCH: String(fixedEpoch) } })
  } catch (err) {
    throw wrapError(`writing the metadata ISO ${out}`, err)
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}
