// Shared set-up for commands that read or build images.
import { readHostSources, mirrorSources, hostCodename } from '../../pkg/apt/index.js'
import { createRealRunner } from '../../pkg/exec/index.js'
import type { BuildContext } from '../../pkg/pkgbuild/index.js'
import { defaultCacheDir, storeDir, Store } from '../../pkg/store/index.js'
import type { CliIO } from './io.js'

export interface ContextOptions {
  mirror?: string | undefined
  suite?: string | undefined
  force?: boolean | undefined
  verbose?: boolean | undefined
}

export async function createBuildContext(io: CliIO, o: ContextOptions): Promise<BuildContext> {
  const cacheDir = defaultCacheDir(io.env)
  const store = await Store.open(storeDir(cacheDir))
  const epoch = io.env['SOURCE_DATE_EPOCH']
  const sourceDateEpoch = epoch !== undefined && /^[0-9]+$/.test(epoch) ? Number(epoch) : 0
  const sources = o.mirror ? mirrorSources(o.mirror, o.suite ?? hostCodename()) : readHostSources()
  return {
    store,
    cacheDir,
    runner: createRealRunner(),
    log: io.log,
    archive: { sources },
    force: o.force === true,
    verbose: o.verbose === true,
    sourceDateEpoch,
  }
}
