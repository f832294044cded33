import t from 'tap'
import { UserError } from '../errors/index.js'
import { mediaTypes, type Descriptor, type ImageIndex } from '../oci/index.js'
import { formatPlatform, parsePlatform, selectPlatform } from './index.js'

t.test('parsePlatform', async (t) => {
  t.same(parsePlatform('linux/amd64'), { os: 'linux', architecture: 'amd64' })
  t.same(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64', variant: 'v8' })
  t.same(parsePlatform('linux/arm/v7'), { os: 'linux', architecture: 'arm', variant: 'v7' })
  t.same(parsePlatform('Linux/AMD64'), { os: 'linux', architecture: 'amd64' }, 'case folded')
  t.same(parsePlatform('linux/x86_64'), { os: 'linux', architecture: 'amd64' })
  t.same(parsePlatform('linux/aarch64'), { os: 'linux', architecture: 'arm64' })
  t.same(parsePlatform('linux/armhf'), { os: 'linux', architecture: 'arm', variant: 'v7' })
  t.same(parsePlatform('linux/ppc64le'), { os: 'linux', architecture: 'ppc64le' })
  for (const junk of ['', 'linux', 'linux/', '/amd64', 'linux/amd64/v8/x', 'linux/am d64', 'linux/amd64/', 'linux//amd64', 'linux/$x', 'linux/armhf/v6']) {
    t.throws(() => parsePlatform(junk), UserError, JSON.stringify(junk))
  }
  t.throws(() => parsePlatform('linux'), { message: /invalid platform "linux": expected os\/architecture/ })
})

t.test('formatPlatform', async (t) => {
  t.equal(formatPlatform({ os: 'linux', architecture: 'amd64' }), 'linux/amd64')
  t.equal(formatPlatform({ os: 'linux', architecture: 'arm', variant: 'v7' }), 'linux/arm/v7')
  for (const s of ['linux/amd64', 'linux/arm64/v8', 'linux/arm/v6']) t.equal(formatPlatform(parsePlatform(s)), s)
})

const d = (n: number, platform?: Descriptor['platform'], mediaType: string = mediaTypes.ociManifest, annotations?: Record<string, string>): Descriptor => ({
  mediaType, digest: `sha256:${String(n).repeat(64).slice(0, 64)}`, size: n,
  ...(platform ? { platform } : {}), ...(annotations ? { annotations } : {}),
})

t.test('selectPlatform', async (t) => {
  const index: ImageIndex = {
    schemaVersion: 2,
    manifests: [
      d(1, { os: 'unknown', architecture: 'unknown' }),
      d(2, { os: 'linux', architecture: 'amd64' }, 'application/vnd.example.sbom'),
      d(3, { os: 'linux', architecture: 'amd64' }),
      d(4, { os: 'linux', architecture: 'arm64' }),
      d(5, { os: 'linux', architecture: 'arm', variant: 'v6' }),
      d(6, { os: 'linux', architecture: 'arm' }),
      d(7, { os: 'windows', architecture: 'amd64' }, mediaTypes.dockerManifest),
      d(8, { os: 'linux', architecture: 'riscv64' }, mediaTypes.ociIndex),
      d(9, { os: 'linux', architecture: 's390x' }, mediaTypes.ociManifest, { 'vnd.docker.reference.type': 'attestation-manifest' }),
    ],
  }
  const pick = (s: string): number | undefined => selectPlatform(index, parsePlatform(s))?.size
  t.equal(pick('linux/amd64'), 3, 'skips non-manifest types')
  t.equal(pick('linux/arm64'), 4)
  t.equal(pick('linux/arm64/v8'), 4, 'arm64 without variant is v8')
  t.equal(pick('linux/arm64/v9'), undefined)
  t.equal(pick('linux/arm/v7'), 6, 'arm without variant is v7')
  t.equal(pick('linux/arm/v6'), 5)
  t.equal(pick('linux/arm'), 6, 'no variant wanted: the default one preferred')
  t.equal(pick('windows/amd64'), 7, 'docker manifest entries count')
  t.equal(pick('linux/riscv64'), undefined, 'nested indexes are skipped')
  t.equal(pick('linux/s390x'), undefined, 'attestations are skipped')
  t.equal(pick('unknown/unknown'), undefined)
  t.equal(pick('linux/386'), undefined)

  const armOnly: ImageIndex = { schemaVersion: 2, manifests: [d(5, { os: 'linux', architecture: 'arm', variant: 'v6' }), d(1)] }
  t.equal(selectPlatform(armOnly, parsePlatform('linux/arm'))?.size, 5, 'any variant when none is wanted')
  t.equal(selectPlatform(armOnly, parsePlatform('linux/arm/v7')), undefined)
  const v8: ImageIndex = { schemaVersion: 2, manifests: [d(4, { os: 'linux', architecture: 'arm64', variant: 'v8' })] }
  t.equal(selectPlatform(v8, parsePlatform('linux/arm64'))?.size, 4)
})
