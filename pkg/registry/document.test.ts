// The strict JSON reader and the manifest/index checks, without HTTP.
import t from 'tap'
import { IntegrityError, UserError } from '../errors/index.js'
import { mediaTypes } from '../oci/index.js'
import { parseDocument, parseJson } from './index.js'
import { apiHost, isInsecureHost, retryAfter, Transport, TransientError } from './transport.js'
import { silentLogger } from '../log/index.js'

const h = (c: string, n = 64): string => c.repeat(n)

t.test('parseJson', async (t) => {
  t.same(parseJson('{"a":[1,-2.5e3,true,false,null,"x\\u00e9\\n"],"b":{}}'), { a: [1, -2500, true, false, null, 'xé\n'], b: {} })
  t.same(parseJson(Buffer.from(' [ ] ')), [])
  const o = parseJson('{"__proto__":{"polluted":1},"constructor":{"prototype":{"p":1}},"k":1}') as Record<string, unknown>
  t.equal(Object.getPrototypeOf(o), Object.prototype)
  t.notOk(Object.prototype.hasOwnProperty.call(o, '__proto__'))
  t.equal(o['k'], 1)
  t.equal(({} as Record<string, unknown>)['polluted'], undefined)
  for (const bad of ['', '{', '{"a":1,}', '[1,]', '{"a" 1}', "{'a':1}", '01', '1.', '"\u0001"', '"\\x"', 'nul', '{"a":1}x', '{"a":1,"a":2}', '\ufeff{}', 'NaN', '"\\u12"']) {
    t.throws(() => parseJson(bad), { name: 'JsonError' }, JSON.stringify(bad))
  }
  t.throws(() => parseJson(Buffer.from([0x22, 0xff, 0x22])), { message: /UTF-8/ })
  t.throws(() => parseJson('['.repeat(65) + ']'.repeat(65)), { message: /nested deeper than 64/ })
  t.doesNotThrow(() => parseJson('['.repeat(64) + ']'.repeat(64)))
  t.throws(() => parseJson('['.repeat(1_000_000)), { message: /nested deeper/ }, 'no stack overflow')
})

const config = { mediaType: mediaTypes.ociConfig, digest: `sha256:${h('a')}`, size: 3 }
const layer = { mediaType: 'application/vnd.example.layer', digest: `sha256:${h('b')}`, size: 0, urls: ['https://x/y'], annotations: { a: 'b' } }
const enc = (o: unknown): Buffer => Buffer.from(JSON.stringify(o))

t.test('parseDocument: manifests', async (t) => {
  const m = parseDocument(enc({ schemaVersion: 2, mediaType: mediaTypes.dockerManifest, config, layers: [layer], extra: 'ignored' }))
  t.equal(m.kind, 'manifest')
  t.equal(m.mediaType, mediaTypes.dockerManifest)
  t.same(m.manifest, { schemaVersion: 2, mediaType: mediaTypes.dockerManifest, config, layers: [layer] }, 'unknown layer types kept; unknown fields dropped')
  t.equal(parseDocument(enc({ schemaVersion: 2, config, layers: [] }), `${mediaTypes.ociManifest}; charset=utf-8`).mediaType, mediaTypes.ociManifest, 'header used when the body has no mediaType')
  t.equal(parseDocument(enc({ schemaVersion: 2, config, layers: [] })).mediaType, mediaTypes.ociManifest, 'inferred')
  t.throws(() => parseDocument(enc({ schemaVersion: 2, mediaType: mediaTypes.ociIndex, config, layers: [] })), IntegrityError, 'type and shape disagree')
  t.throws(() => parseDocument(enc({ schemaVersion: 2, mediaType: 'application/vnd.oci.artifact.manifest.v1+json', blobs: [] })), UserError, 'unsupported type')
  t.throws(() => parseDocument(enc({ schemaVersion: 2, config: { ...config, platform: { os: 'linux', architecture: 'amd64' } }, layers: [] })), { message: /config\.platform/ })
  t.throws(() => parseDocument(enc({ schemaVersion: 3, config, layers: [] })), { message: /schemaVersion: expected 2, got 3/ })
  t.throws(() => parseDocument(enc({ config, layers: [] })), { message: /schemaVersion: expected 2, got null/ })
  t.throws(() => parseDocument(enc({ schemaVersion: 1 })), { name: 'UserError', message: /re-push/ })
  t.throws(() => parseDocument(enc({ schemaVersion: 2, config, layers: [{ ...layer, digest: `sha512:${h('c', 127)}` }] })), { message: /layers\[0\]\.digest/ })
  t.throws(() => parseDocument(enc({ schemaVersion: 2, config, layers: [{ ...layer, size: 1.5 }] })), { message: /layers\[0\]\.size/ })
  t.throws(() => parseDocument(enc({ schemaVersion: 2, config, layers: [{ ...layer, urls: [1] }] })), { message: /layers\[0\]\.urls/ })
  t.throws(() => parseDocument(enc({ schemaVersion: 2, config, layers: [{ ...layer, mediaType: undefined }] })), { message: /layers\[0\]\.mediaType/ })
  t.throws(() => parseDocument(enc({ schemaVersion: 2, config, layers: [], subject: { ...config, digest: 'sha256:x' } })), { message: /subject\.digest/ })
  t.throws(() => parseDocument(enc({ schemaVersion: 2, config, layers: [], annotations: { a: 1 } })), { message: /annotations\["a"\]: not a string/ })
  t.throws(() => parseDocument(enc([1])), { message: /not a JSON object/ })
})

t.test('parseDocument: indexes', async (t) => {
  const entry = { mediaType: mediaTypes.ociManifest, digest: `sha256:${h('d')}`, size: 9, platform: { os: 'linux', architecture: 'arm', variant: 'v7', 'os.features': ['x'] } }
  const odd = { mediaType: 'application/vnd.in-toto+json', digest: `sha256:${h('e')}`, size: 1 }
  const i = parseDocument(enc({ schemaVersion: 2, mediaType: mediaTypes.dockerManifestList, manifests: [entry, odd] }), 'application/json')
  t.equal(i.kind, 'index')
  t.same(i.index?.manifests, [entry, odd])
  t.same(i.skipped, [odd])
  t.equal(parseDocument(enc({ schemaVersion: 2, manifests: [] })).mediaType, mediaTypes.ociIndex, 'inferred')
  t.throws(() => parseDocument(enc({ schemaVersion: 2, manifests: [], layers: [] })), { message: /both "manifests" and "layers"/ })
  t.throws(() => parseDocument(enc({ schemaVersion: 2, manifests: [], config })), { message: /both "manifests"/ })
  t.throws(() => parseDocument(enc({ schemaVersion: 2, manifests: [{ ...entry, platform: { os: 'linux' } }] })), { message: /manifests\[0\]\.platform\.architecture/ })
  t.throws(() => parseDocument(enc({ schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests: {} })), { message: /manifests: not an array/ })
})

t.test('transport helpers', async (t) => {
  t.ok(isInsecureHost('localhost:5000'))
  t.ok(isInsecureHost('127.0.0.1:1234'))
  t.ok(isInsecureHost('[::1]:5000'))
  t.ok(isInsecureHost('localhost'))
  t.notOk(isInsecureHost('127.0.0.2:5000'))
  t.notOk(isInsecureHost('ghcr.io'))
  t.ok(isInsecureHost('reg.lan:5000', ['reg.lan:5000']))
  t.notOk(isInsecureHost('reg.lan:5001', ['reg.lan:5000']))
  t.ok(isInsecureHost('reg.lan:5001', ['reg.lan']), 'a host without port: any port')
  t.equal(apiHost('docker.io'), 'registry-1.docker.io')
  t.equal(apiHost('ghcr.io'), 'ghcr.io')
  const tr = new Transport({ log: silentLogger, insecure: ['reg.lan'], retryDelayMs: 500 })
  t.equal(tr.endpoint('docker.io').origin, 'https://registry-1.docker.io')
  t.equal(tr.endpoint('reg.lan:80').origin, 'http://reg.lan')
  t.equal(tr.endpoint('[::1]:5000').origin, 'http://[::1]:5000')
  t.equal(retryAfter('3'), 3000)
  t.equal(retryAfter(null), undefined)
  t.equal(retryAfter('soon'), undefined)
  const later = retryAfter(new Date(Date.now() + 10_000).toUTCString())
  t.ok(later !== undefined && later > 8000 && later <= 10_000)
  t.equal(tr.backoff(1, new TransientError('x')), 500)
  t.equal(tr.backoff(3, new TransientError('x')), 2000)
  t.equal(tr.backoff(1, new TransientError('x', { retryAfterMs: 5000 })), 5000, 'Retry-After honoured')
  t.equal(tr.backoff(1, new TransientError('x', { retryAfterMs: 3_600_000 })), 30_000, '... up to 30 s')
})
