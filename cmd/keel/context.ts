// Shared set-up for commands that read, build or pull images.
import { readHostSources, mirrorSources, hostCodename } from '../../pkg/apt/index.js'
import { UserError } from '../../pkg/errors/index.js'
import { createRealRunner } from '../../pkg/exec/index.js'
import { checkPackageRegistry } from '../../pkg/pkgbuild/index.js'
import type { Platform } from '../../pkg/oci/index.js'
import { parsePlatform, RegistryClient } from '../../pkg/registry/index.js'
import type { ResolveContext } from '../../pkg/resolve/index.js'
import { defaultCacheDir, storeDir, Store } from '../../pkg/store/index.js'
import type { CliIO } from './io.js'
import { createProgress } from './progress.js'

export interface ContextOptions {
  mirror?: string | undefined
  suite?: string | undefined
  force?: boolean | undefined
  verbose?: boolean | undefined
  platform?: string | undefined
  insecureRegistry?: string[] | undefined
  pull?: boolean | undefined
}

/** The registry options every pulling or pushing command takes. */
export const registryOptions = {
  platform: { type: 'string' },
  'insecure-registry': { type: 'string', multiple: true },
} as const

export const registryUsage = `      --platform OS/ARCH      platform of images pulled from registries (default linux/amd64)
      --insecure-registry H   reach registry H (host[:port]) over plain HTTP (localhost always is)
`

export async function openStore(io: CliIO): Promise<{ store: Store; cacheDir: string }> {
  const cacheDir = defaultCacheDir(io.env)
  return { store: await Store.open(storeDir(cacheDir)), cacheDir }
}

export function createRegistryClient(io: CliIO, insecure: string[] | undefined): RegistryClient {
  const dockerConfig = io.env['DOCKER_CONFIG'] ? `${io.env['DOCKER_CONFIG']}/config.json` : undefined
  return new RegistryClient({ log: io.log, runner: createRealRunner(), insecure: insecure ?? [], ...(dockerConfig ? { dockerConfig } : {}) })
}

export function platformOf(raw: string | undefined): Platform {
  return parsePlatform(raw ?? 'linux/amd64')
}

export async function createBuildContext(io: CliIO, o: ContextOptions): Promise<ResolveContext> {
  const { store, cacheDir } = await openStore(io)
  const epoch = io.env['SOURCE_DATE_EPOCH']
  const sourceDateEpoch = epoch !== undefined && /^[0-9]+$/.test(epoch) ? Number(epoch) : 0
  const sources = o.mirror ? mirrorSources(o.mirror, o.suite ?? hostCodename()) : readHostSources()
  const progress = createProgress(io)
  // $KEEL_PKG_REGISTRY: where package images are pulled from by tag before
  // building (as keel pkg build --registry; docs/packages.md).
  const packageRegistry = io.env['KEEL_PKG_REGISTRY'] || undefined
  const bad = packageRegistry === undefined ? undefined : checkPackageRegistry(packageRegistry)
  if (bad !== undefined) throw new UserError(`$KEEL_PKG_REGISTRY: ${bad}`)
  return {
    store,
    cacheDir,
    runner: createRealRunner(),
    log: io.log,
    archive: { sources },
    force: o.force === true,
    verbose: o.verbose === true,
    sourceDateEpoch,
    registry: createRegistryClient(io, o.insecureRegistry),
    platform: platformOf(o.platform),
    pull: o.pull === true,
    ...(progress ? { onProgress: progress } : {}),
    ...(packageRegistry ? { packageRegistry } : {}),
  }
}
