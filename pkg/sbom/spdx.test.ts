import { createHash } from 'node:crypto'
import t, { type Test } from 'tap'
import { Ajv } from 'ajv'
import { generateSbom, type SbomImage, type SbomInput } from './index.js'

const dig = (c: string): string => 'sha256:' + c.repeat(64)

const images = (): SbomImage[] => [
  { ref: 'docker.io/keel/kernel:6.6.1', digest: dig('a'), role: 'kernel', packages: [] },
  {
    ref: 'docker.io/keel/init:0123abc',
    digest: dig('b'),
    role: 'init[0]',
    packages: [
      { type: 'deb', name: 'libc6', version: '2.36-9+deb12u7', architecture: 'amd64', source: 'glibc', vendor: 'debian', distro: 'debian-12' },
      { type: 'deb', name: 'base-files', version: '12.4+deb12u7', architecture: 'amd64' },
      { type: 'deb', name: 'busybox-static', version: '1:1.35.0-4+b1', architecture: 'amd64', source: 'busybox', sourceVersion: '1:1.35.0-4' },
      { type: 'deb', name: 'base-files', version: '12.4+deb12u7', architecture: 'amd64' }, // repeated
      { type: 'deb', name: 'bash', version: '5.2.15-2', architecture: 'amd64', source: 'bash', sourceVersion: '5.2.15-2' },
    ],
  },
  {
    ref: 'alpine:3.20',
    digest: dig('c'),
    role: 'onboot[1] dhcpcd',
    packages: [
      { type: 'apk', name: 'musl', version: '1.2.5-r0', architecture: 'x86_64', source: 'musl' },
      { type: 'apk', name: 'busybox-binsh', version: '1.36.1-r29', architecture: 'x86_64', source: 'busybox' },
    ],
  },
  {
    ref: 'ghcr.io/o/getty@' + dig('d'),
    digest: dig('d'),
    role: 'services[0] getty',
    packages: [{ type: 'deb', name: 'base-files', version: '12.4+deb12u7', architecture: 'amd64' }],
  },
]

const input = (over: Partial<SbomInput> = {}): SbomInput => ({
  name: 'build',
  images: images(),
  created: new Date(0),
  toolVersion: '0.1.0',
  ...over,
})

interface Pkg {
  SPDXID: string
  name: string
  versionInfo?: string
  sourceInfo?: string
  checksums?: Array<{ algorithm: string; checksumValue: string }>
  externalRefs?: Array<{ referenceCategory: string; referenceType: string; referenceLocator: string; comment?: string }>
  primaryPackagePurpose?: string
  comment?: string
}
interface Doc {
  spdxVersion: string
  dataLicense: string
  SPDXID: string
  name: string
  documentNamespace: string
  creationInfo: { created: string; creators: string[] }
  packages: Pkg[]
  relationships: Array<{ spdxElementId: string; relationshipType: string; relatedSpdxElement: string }>
}

// A hand-written subset of the SPDX 2.3 JSON schema, strict about what keel writes.
const idPattern = '^SPDXRef-[A-Za-z0-9.-]+$'
const spdxSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['spdxVersion', 'dataLicense', 'SPDXID', 'name', 'documentNamespace', 'creationInfo', 'packages', 'relationships'],
  properties: {
    spdxVersion: { const: 'SPDX-2.3' },
    dataLicense: { const: 'CC0-1.0' },
    SPDXID: { const: 'SPDXRef-DOCUMENT' },
    name: { type: 'string', minLength: 1 },
    documentNamespace: { type: 'string', pattern: '^https://[^\\s#]+$' },
    creationInfo: {
      type: 'object',
      additionalProperties: false,
      required: ['created', 'creators'],
      properties: {
        created: { type: 'string', pattern: '^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$' },
        creators: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^(Tool|Organization|Person): \\S' } },
        comment: { type: 'string' },
        licenseListVersion: { type: 'string' },
      },
    },
    packages: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['SPDXID', 'name', 'downloadLocation'],
        properties: {
          SPDXID: { type: 'string', pattern: idPattern },
          name: { type: 'string', minLength: 1 },
          versionInfo: { type: 'string', minLength: 1 },
          downloadLocation: { anyOf: [{ enum: ['NONE', 'NOASSERTION'] }, { type: 'string', pattern: '^[a-z+]+://' }] },
          filesAnalyzed: { type: 'boolean' },
          checksums: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['algorithm', 'checksumValue'],
              properties: {
                algorithm: { enum: ['SHA1', 'SHA224', 'SHA256', 'SHA384', 'SHA512', 'SHA3-256', 'SHA3-384', 'SHA3-512', 'BLAKE2b-256', 'BLAKE2b-384', 'BLAKE2b-512', 'BLAKE3', 'MD2', 'MD4', 'MD5', 'MD6', 'ADLER32'] },
                checksumValue: { type: 'string', pattern: '^[0-9a-f]+$' },
              },
            },
          },
          sourceInfo: { type: 'string' },
          licenseConcluded: { type: 'string' },
          licenseDeclared: { type: 'string' },
          copyrightText: { type: 'string' },
          comment: { type: 'string' },
          externalRefs: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['referenceCategory', 'referenceType', 'referenceLocator'],
              properties: {
                referenceCategory: { enum: ['OTHER', 'PERSISTENT-ID', 'SECURITY', 'PACKAGE-MANAGER', 'PACKAGE_MANAGER', 'PERSISTENT_ID'] },
                referenceType: { type: 'string' },
                referenceLocator: { type: 'string', pattern: '^\\S+$' },
                comment: { type: 'string' },
              },
            },
          },
          primaryPackagePurpose: { enum: ['APPLICATION', 'FRAMEWORK', 'LIBRARY', 'CONTAINER', 'OPERATING-SYSTEM', 'DEVICE', 'FIRMWARE', 'SOURCE', 'ARCHIVE', 'FILE', 'INSTALL', 'OTHER'] },
        },
      },
    },
    relationships: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['spdxElementId', 'relationshipType', 'relatedSpdxElement'],
        properties: {
          spdxElementId: { type: 'string', pattern: idPattern },
          relationshipType: { enum: ['DESCRIBES', 'DESCRIBED_BY', 'CONTAINS', 'CONTAINED_BY', 'DEPENDS_ON', 'GENERATED_FROM', 'OTHER'] },
          relatedSpdxElement: { type: 'string', pattern: `${idPattern}|^NONE$|^NOASSERTION$` },
          comment: { type: 'string' },
        },
      },
    },
  },
}

// purl syntax (purl-spec): pkg:type/[namespace/]name[@version][?qualifiers], canonical
// percent-encoding (only A-Za-z0-9.-_~: and %XX), lowercase sorted unique qualifier keys.
const seg = '[A-Za-z0-9._~:-]|%[0-9A-F]{2}'
const purlPattern = new RegExp(
  `^pkg:[a-z][a-z0-9.+-]*/(?:(?:${seg})+/)*(?:${seg})+(?:@(?:${seg})+)?` +
  `(?:\\?[a-z][a-z0-9._-]*=(?:${seg})+(?:&[a-z][a-z0-9._-]*=(?:${seg})+)*)?$`,
)
function checkPurl(t: Test, purl: string): void {
  t.match(purl, purlPattern, `well-formed purl ${purl}`)
  const q = purl.indexOf('?')
  if (q >= 0) {
    const keys = purl.slice(q + 1).split('&').map((kv) => kv.slice(0, kv.indexOf('=')))
    t.same(keys, [...new Set(keys)].sort(), `qualifiers sorted and unique in ${purl}`)
  }
}

t.test('a small build: fields, schema, relationships, ids and purls', async (t) => {
  const text = generateSbom(input())
  t.ok(text.endsWith('}\n'), 'trailing newline')
  const doc = JSON.parse(text) as Doc
  t.equal(text, `${JSON.stringify(doc, null, 2)}\n`, '2-space indentation')

  const ajv = new Ajv({ allErrors: true, strict: true })
  const validate = ajv.compile(spdxSchema)
  t.ok(validate(doc), `valid against the SPDX 2.3 subset: ${ajv.errorsText(validate.errors)}`)

  t.equal(doc.spdxVersion, 'SPDX-2.3')
  t.equal(doc.dataLicense, 'CC0-1.0')
  t.equal(doc.SPDXID, 'SPDXRef-DOCUMENT')
  t.equal(doc.name, 'build')
  t.same(doc.creationInfo, { created: '1970-01-01T00:00:00Z', creators: ['Tool: keel-0.1.0'] })
  t.match(doc.documentNamespace, /^https:\/\/keel\.invalid\/spdx\/build-[0-9a-f]{64}$/)

  // The namespace is the hash of the document without it.
  const hash = createHash('sha256').update(JSON.stringify({ ...doc, documentNamespace: '' })).digest('hex')
  t.equal(doc.documentNamespace, `https://keel.invalid/spdx/build-${hash}`)

  // Ids valid and unique.
  const ids = doc.packages.map((p) => p.SPDXID)
  for (const id of ids) t.match(id, /^SPDXRef-[A-Za-z0-9.-]+$/)
  t.equal(new Set(ids).size, ids.length, 'SPDXIDs unique')

  // 1 root + 4 images + 5 + 2 + 1 packages (the repeated base-files dropped).
  t.equal(doc.packages.length, 1 + 4 + 4 + 2 + 1)
  const byId = new Map(doc.packages.map((p) => [p.SPDXID, p]))
  const root = doc.packages[0]!
  t.equal(root.name, 'build')
  t.equal(root.primaryPackagePurpose, 'OPERATING-SYSTEM')

  const rel = doc.relationships
  t.same(rel.filter((r) => r.relationshipType === 'DESCRIBES'),
    [{ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: root.SPDXID }])
  for (const r of rel) {
    t.ok(r.spdxElementId === 'SPDXRef-DOCUMENT' || byId.has(r.spdxElementId), `known element ${r.spdxElementId}`)
    t.ok(byId.has(r.relatedSpdxElement), `known related element ${r.relatedSpdxElement}`)
  }
  const containedBy = (id: string): Pkg[] =>
    rel.filter((r) => r.spdxElementId === id && r.relationshipType === 'CONTAINS').map((r) => byId.get(r.relatedSpdxElement)!)

  // Root contains the images, in input order.
  const imgs = containedBy(root.SPDXID)
  t.same(imgs.map((p) => p.name), ['docker.io/keel/kernel:6.6.1', 'docker.io/keel/init:0123abc', 'alpine:3.20', `ghcr.io/o/getty@${dig('d')}`])
  t.same(imgs.map((p) => p.comment), ['keel manifest role: kernel', 'keel manifest role: init[0]', 'keel manifest role: onboot[1] dhcpcd', 'keel manifest role: services[0] getty'])
  for (const [i, img] of imgs.entries()) {
    const d = images()[i]!.digest
    t.equal(img.versionInfo, d)
    t.equal(img.primaryPackagePurpose, 'CONTAINER')
    t.same(img.checksums, [{ algorithm: 'SHA256', checksumValue: d.slice('sha256:'.length) }])
  }
  t.equal(imgs[1]!.externalRefs?.[0]?.referenceLocator, `pkg:oci/init@${dig('b')}?repository_url=docker.io%2Fkeel%2Finit&tag=0123abc`)
  t.equal(imgs[2]!.externalRefs?.[0]?.referenceLocator, `pkg:oci/alpine@${dig('c')}?repository_url=docker.io%2Flibrary%2Falpine&tag=3.20`)
  t.equal(imgs[3]!.externalRefs?.[0]?.referenceLocator, `pkg:oci/getty@${dig('d')}?repository_url=ghcr.io%2Fo%2Fgetty`)

  // Each image contains its packages, sorted, without repeats.
  t.same(containedBy(imgs[0]!.SPDXID), [])
  const initPkgs = containedBy(imgs[1]!.SPDXID)
  t.same(initPkgs.map((p) => p.name), ['base-files', 'bash', 'busybox-static', 'libc6'])
  t.same(containedBy(imgs[2]!.SPDXID).map((p) => p.name), ['busybox-binsh', 'musl'])
  t.same(containedBy(imgs[3]!.SPDXID).map((p) => p.name), ['base-files'])
  // Packages follow their image in the packages array too.
  t.same(doc.packages.map((p) => p.name), [
    'build',
    'docker.io/keel/kernel:6.6.1',
    'docker.io/keel/init:0123abc', 'base-files', 'bash', 'busybox-static', 'libc6',
    'alpine:3.20', 'busybox-binsh', 'musl',
    `ghcr.io/o/getty@${dig('d')}`, 'base-files',
  ])
  // Every package but the root is contained exactly once.
  const contained = rel.filter((r) => r.relationshipType === 'CONTAINS').map((r) => r.relatedSpdxElement)
  t.same([...contained].sort(), ids.slice(1).sort())

  const get = (name: string): Pkg => initPkgs.find((p) => p.name === name)!
  t.same(get('libc6').externalRefs, [
    { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: 'pkg:deb/debian/libc6@2.36-9%2Bdeb12u7?arch=amd64&distro=debian-12' },
    { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: 'pkg:deb/debian/glibc@2.36-9%2Bdeb12u7?arch=source&distro=debian-12', comment: 'source package' },
  ])
  t.equal(get('libc6').sourceInfo, 'built package from: glibc 2.36-9+deb12u7')
  t.equal(get('busybox-static').sourceInfo, 'built package from: busybox 1:1.35.0-4')
  t.equal(get('busybox-static').externalRefs?.[1]?.referenceLocator, 'pkg:deb/debian/busybox@1:1.35.0-4?arch=source')
  t.equal(get('bash').sourceInfo, undefined, 'no sourceInfo when the source is the package itself')
  t.equal(get('bash').externalRefs?.length, 1)
  t.equal(get('base-files').versionInfo, '12.4+deb12u7')
  const binsh = containedBy(imgs[2]!.SPDXID)[0]!
  t.equal(binsh.externalRefs?.[0]?.referenceLocator, 'pkg:apk/alpine/busybox-binsh@1.36.1-r29?arch=x86_64')
  t.equal(binsh.sourceInfo, 'built package from origin: busybox')

  for (const p of doc.packages) for (const r of p.externalRefs ?? []) checkPurl(t, r.referenceLocator)
})

t.test('determinism', async (t) => {
  const a = generateSbom(input())
  t.equal(generateSbom(input()), a, 'same input, same bytes')

  // Package order inside an image does not matter.
  const shuffled = images().map((img) => ({ ...img, packages: [...img.packages].reverse() }))
  t.equal(generateSbom(input({ images: shuffled })), a, 'packages are sorted')

  // Images keep the order they are given in (the manifest's): reordering them
  // reorders the document, but each image keeps its id and its packages.
  const reordered = generateSbom(input({ images: [...images()].reverse() }))
  t.not(reordered, a)
  const docA = JSON.parse(a) as Doc
  const docB = JSON.parse(reordered) as Doc
  const imageIds = (d: Doc): string[] =>
    d.relationships.filter((r) => r.spdxElementId === 'SPDXRef-OperatingSystem').map((r) => r.relatedSpdxElement)
  t.same(imageIds(docB), [...imageIds(docA)].reverse())
  t.same([...docB.packages].sort((x, y) => (x.SPDXID < y.SPDXID ? -1 : 1)), [...docA.packages].sort((x, y) => (x.SPDXID < y.SPDXID ? -1 : 1)))
  t.not(docB.documentNamespace, docA.documentNamespace)

  // Any change in content changes the namespace.
  const other = JSON.parse(generateSbom(input({ toolVersion: '0.1.1' }))) as Doc
  t.not(other.documentNamespace, docA.documentNamespace)
})

t.test('created time comes from the Date, to the second, in UTC', async (t) => {
  const created = (d: Date): string => (JSON.parse(generateSbom(input({ created: d }))) as Doc).creationInfo.created
  t.equal(created(new Date(0)), '1970-01-01T00:00:00Z')
  t.equal(created(new Date(1_700_000_000_999)), '2023-11-14T22:13:20Z')
  t.throws(() => generateSbom(input({ created: new Date(Number.NaN) })), { name: 'UserError' })
  t.throws(() => generateSbom(input({ created: new Date(Date.UTC(10000, 0, 1)) })), { name: 'UserError' })
})

t.test('ids stay unique and valid for odd roles, repeated images and names', async (t) => {
  const img: SbomImage = { ref: 'x', digest: dig('e'), role: 'onboot[0] ünïcode / weird*chars', packages: [{ type: 'deb', name: 'a+b', version: '1' }] }
  const doc = JSON.parse(generateSbom(input({ name: 'my build/1', images: [img, img, { ...img, role: '' }] }))) as Doc
  const ids = doc.packages.map((p) => p.SPDXID)
  for (const id of ids) t.match(id, /^SPDXRef-[A-Za-z0-9.-]+$/)
  t.equal(new Set(ids).size, ids.length)
  t.equal(ids.length, 1 + 3 * 2)
  t.match(doc.documentNamespace, /^https:\/\/keel\.invalid\/spdx\/my%20build%2F1-[0-9a-f]{64}$/)
})

t.test('an empty build is still a valid document', async (t) => {
  const doc = JSON.parse(generateSbom(input({ images: [] }))) as Doc
  t.equal(doc.packages.length, 1)
  t.equal(doc.relationships.length, 1)
})

t.test('bad input is refused', async (t) => {
  t.throws(() => generateSbom(input({ images: [{ ref: 'x', digest: 'sha256:abc', role: 'kernel', packages: [] }] })),
    { name: 'UserError', message: /kernel.*malformed digest/ })
  t.throws(() => generateSbom(input({ name: '' })), { name: 'UserError' })
})

t.test('sha512 digests are checksummed as SHA512', async (t) => {
  const d = 'sha512:' + 'f'.repeat(128)
  const doc = JSON.parse(generateSbom(input({ images: [{ ref: 'x/y:1', digest: d, role: 'kernel', packages: [] }] }))) as Doc
  t.same(doc.packages[1]!.checksums, [{ algorithm: 'SHA512', checksumValue: 'f'.repeat(128) }])
})
