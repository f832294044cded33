// The client against hand-written servers that lie, cut off, stall, loop and
// redirect: every failure must be a clear error naming the repository and
// the digest, and no bad data may be handed out as good.
import t, { type Test } from 'tap'
import { createHash } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { IntegrityError, UserError } from '../errors/index.js'
import { createMemoryLogger } from '../log/index.js'
import { mediaTypes, sha256Digest, type Descriptor, type Digest } from '../oci/index.js'
import { startFakeServer, type FakeServer } from '../../test/helpers/registry.js'
import { RegistryClient, type RegistryClientOptions, type Repo } from './index.js'

type Route = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void | Promise<void>

async function fakeRegistry(t: Test, routes: Record<string, Route>, address?: string): Promise<FakeServer> {
  return startFakeServer(t, (req, res, body) => {
    res.on('error', () => undefined)
    const path = (req.url ?? '').split('?')[0] ?? ''
    const route = routes[`${req.method} ${path}`]
    if (route) return route(req, res, body)
    res.writeHead(404, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ errors: [{ code: 'NAME_UNKNOWN', message: `no route for ${req.method} ${path}` }] }))
  }, address)
}

function newClient(extra: Partial<RegistryClientOptions> = {}): { client: RegistryClient; log: ReturnType<typeof createMemoryLogger> } {
  const log = createMemoryLogger()
  const client = new RegistryClient({
    log, dockerConfig: '/nonexistent/keel-test/config.json', attempts: 3, retryDelayMs: 1, stallTimeoutMs: 5000, ...extra,
  })
  return { client, log }
}

async function collect(s: Readable, got?: Buffer[]): Promise<Buffer> {
  const chunks = got ?? []
  for await (const c of s as AsyncIterable<Buffer>) chunks.push(c)
  return Buffer.concat(chunks)
}

const repoName = 'hostile/app'
const blobBytes = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz'.repeat(2000))
const blobDesc: Descriptor = { mediaType: mediaTypes.ociLayerGzip, digest: sha256Digest(blobBytes), size: blobBytes.length }
const blobPath = `/v2/${repoName}/blobs/${blobDesc.digest}`
const hex = (c: string, n: number): string => c.repeat(n)

function manifestJson(overrides: Record<string, unknown> = {}): Buffer {
  return Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: mediaTypes.ociManifest,
    config: { mediaType: mediaTypes.ociConfig, digest: `sha256:${hex('a', 64)}`, size: 10 },
    layers: [
      { mediaType: mediaTypes.ociLayerGzip, digest: `sha256:${hex('b', 64)}`, size: 20 },
      { mediaType: mediaTypes.ociLayerGzip, digest: `sha512:${hex('c', 128)}`, size: 30 },
    ],
    ...overrides,
  }))
}

function serveDoc(bytes: Buffer, headers: Record<string, string> = {}): Route {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': mediaTypes.ociManifest, 'content-length': String(bytes.length), ...headers })
    res.end(bytes)
  }
}

/** A blob route: serves `bytes` honouring Range. */
function serveBlob(bytes: Buffer): Route {
  return (req, res) => {
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '')
    if (m) {
      const start = Number(m[1])
      res.writeHead(206, { 'content-length': String(bytes.length - start), 'content-range': `bytes ${start}-${bytes.length - 1}/${bytes.length}` })
      res.end(bytes.subarray(start))
      return
    }
    res.writeHead(200, { 'content-length': String(bytes.length), 'content-type': 'application/octet-stream' })
    res.end(bytes)
  }
}

t.test('a blob with one byte changed fails at the end, holding back its last bytes', async (t) => {
  const bad = Buffer.from(blobBytes)
  bad[1000] = bad[1000]! ^ 1
  const srv = await fakeRegistry(t, { [`GET ${blobPath}`]: serveBlob(bad) })
  const { client } = newClient()
  const repo: Repo = { registry: srv.host, repository: repoName }
  const got: Buffer[] = []
  const err = await collect(await client.fetchBlob(repo, blobDesc), got).catch((e: unknown) => e)
  t.type(err, IntegrityError)
  t.match((err as Error).message, `pulling ${srv.host}/${repoName}: blob ${blobDesc.digest}: digest mismatch`)
  t.ok(Buffer.concat(got).length < blobBytes.length, 'the whole blob was never handed out')
})

t.test('one byte extra', async (t) => {
  const extra = Buffer.concat([blobBytes, Buffer.from('!')])
  t.test('announced by Content-Length: refused before any data', async (t) => {
    const srv = await fakeRegistry(t, { [`GET ${blobPath}`]: serveBlob(extra) })
    const { client } = newClient()
    await t.rejects(client.fetchBlob({ registry: srv.host, repository: repoName }, blobDesc), {
      name: 'IntegrityError', message: new RegExp(`${repoName}: blob ${blobDesc.digest}: .*${extra.length} bytes; the descriptor says ${blobBytes.length}`),
    })
  })
  t.test('chunked: the stream fails at the extra byte', async (t) => {
    const srv = await fakeRegistry(t, {
      [`GET ${blobPath}`]: (_req, res) => {
        res.writeHead(200)
        res.write(extra.subarray(0, 5000))
        res.end(extra.subarray(5000))
      },
    })
    const { client } = newClient()
    const got: Buffer[] = []
    const err = await collect(await client.fetchBlob({ registry: srv.host, repository: repoName }, blobDesc), got).catch((e: unknown) => e)
    t.type(err, IntegrityError)
    t.match((err as Error).message, `${repoName}: blob ${blobDesc.digest}: the registry sent more than the ${blobBytes.length} bytes`)
    t.ok(Buffer.concat(got).length < blobBytes.length)
    t.equal(srv.requests.length, 1, 'not retried')
  })
})

t.test('a manifest fetched by digest whose bytes hash otherwise', async (t) => {
  const real = manifestJson()
  const served = manifestJson({ annotations: { evil: 'yes' } })
  const want = sha256Digest(real)
  const srv = await fakeRegistry(t, { [`GET /v2/${repoName}/manifests/${want}`]: serveDoc(served) })
  const { client } = newClient()
  const err = await client.getManifest({ registry: srv.host, repository: repoName }, want).catch((e: unknown) => e)
  t.type(err, IntegrityError)
  t.match((err as Error).message, `pulling ${srv.host}/${repoName}@${want}: manifest ${want}: the registry sent bytes that hash to ${sha256Digest(served)}, not ${want}`)
})

t.test('Docker-Content-Digest must match the bytes', async (t) => {
  const doc = manifestJson()
  const other = sha256Digest('something else')
  const srv = await fakeRegistry(t, {
    [`GET /v2/${repoName}/manifests/bad`]: serveDoc(doc, { 'docker-content-digest': other }),
    [`GET /v2/${repoName}/manifests/junk`]: serveDoc(doc, { 'docker-content-digest': 'sha256:nothex' }),
    [`GET /v2/${repoName}/manifests/good`]: serveDoc(doc, { 'docker-content-digest': sha256Digest(doc) }),
  })
  const { client } = newClient()
  const repo = { registry: srv.host, repository: repoName }
  await t.rejects(client.getManifest(repo, 'bad'), {
    name: 'IntegrityError',
    message: `pulling ${srv.host}/${repoName}:bad: manifest ${sha256Digest(doc)}: the registry's Docker-Content-Digest ${other} does not match the bytes it sent (${sha256Digest(doc)})`,
  })
  await t.rejects(client.getManifest(repo, 'junk'), { name: 'IntegrityError', message: /malformed Docker-Content-Digest/ })
  t.equal((await client.getManifest(repo, 'good')).descriptor.digest, sha256Digest(doc))
})

t.test('documents that are refused', async (t) => {
  const docs: Record<string, { bytes: Buffer; type?: string; error: RegExp; cls?: typeof UserError | typeof IntegrityError }> = {
    both: {
      bytes: manifestJson({ manifests: [] }),
      error: /has both "manifests" and "layers"/,
    },
    upper: {
      bytes: manifestJson({ config: { mediaType: mediaTypes.ociConfig, digest: `sha256:${hex('A', 64)}`, size: 1 } }),
      error: /config\.digest: malformed digest "sha256:AAAA/,
    },
    short: {
      bytes: manifestJson({ layers: [{ mediaType: mediaTypes.ociLayer, digest: `sha256:${hex('b', 63)}`, size: 1 }] }),
      error: /layers\[0\]\.digest: malformed digest/,
    },
    traversal: {
      bytes: manifestJson({ layers: [{ mediaType: mediaTypes.ociLayer, digest: `sha256:${hex('b', 64)}`, size: 1 }, { mediaType: mediaTypes.ociLayer, digest: 'sha256:../x', size: 1 }] }),
      error: /layers\[1\]\.digest: malformed digest "sha256:\.\.\/x"/,
    },
    indexdigest: {
      bytes: Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests: [{ mediaType: mediaTypes.ociManifest, digest: 'md5:abc', size: 1 }] })),
      type: mediaTypes.ociIndex,
      error: /manifests\[0\]\.digest: malformed digest "md5:abc"/,
    },
    negative: {
      bytes: manifestJson({ config: { mediaType: mediaTypes.ociConfig, digest: `sha256:${hex('a', 64)}`, size: -1 } }),
      error: /config\.size: not a non-negative integer/,
    },
    unsafe: {
      bytes: manifestJson({ config: { mediaType: mediaTypes.ociConfig, digest: `sha256:${hex('a', 64)}`, size: 2 ** 60 } }),
      error: /config\.size/,
    },
    disagree: {
      bytes: manifestJson(),
      type: mediaTypes.ociIndex,
      error: /says application\/vnd\.oci\.image\.manifest\.v1\+json but the registry sent Content-Type application\/vnd\.oci\.image\.index\.v1\+json/,
    },
    schema1: {
      bytes: Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'x', tag: 'y', fsLayers: [] })),
      type: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
      error: /schema 1 manifests are unsupported, re-push the image/,
      cls: UserError,
    },
    deep: {
      bytes: Buffer.from(`{"schemaVersion":2,"annotations":${'['.repeat(10_000)}${']'.repeat(10_000)}}`),
      error: /nested deeper than 64 levels/,
    },
    duplicate: {
      bytes: Buffer.from(`{"schemaVersion":2,"mediaType":"${mediaTypes.ociManifest}","mediaType":"${mediaTypes.ociIndex}"}`),
      error: /duplicate key "mediaType"/,
    },
    notjson: { bytes: Buffer.from('<html>hello</html>'), error: /not valid JSON/ },
  }
  const routes: Record<string, Route> = {}
  for (const [tag, d] of Object.entries(docs)) routes[`GET /v2/${repoName}/manifests/${tag}`] = serveDoc(d.bytes, d.type ? { 'content-type': d.type } : {})
  const srv = await fakeRegistry(t, routes)
  const { client } = newClient()
  for (const [tag, d] of Object.entries(docs)) {
    const err = await client.getManifest({ registry: srv.host, repository: repoName }, tag).catch((e: unknown) => e)
    t.type(err, d.cls ?? IntegrityError, tag)
    t.match((err as Error).message, new RegExp(`^pulling ${srv.host}/${repoName}:${tag}: `), `${tag} names the image`)
    t.match((err as Error).message, d.error, tag)
  }
  t.equal(srv.requests.length, Object.keys(docs).length, 'none retried')
})

t.test('documents that are accepted', async (t) => {
  const polluting = Buffer.from(`{"schemaVersion":2,"__proto__":{"polluted":"yes"},"config":{"mediaType":"${mediaTypes.ociConfig}","digest":"sha256:${hex('a', 64)}","size":1,"annotations":{"__proto__":"x","ok":"1"}},"layers":[]}`)
  const index = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    manifests: [
      { mediaType: mediaTypes.ociManifest, digest: `sha256:${hex('1', 64)}`, size: 5, platform: { os: 'linux', architecture: 'amd64' } },
      { mediaType: 'application/vnd.example.thing+json', digest: `sha256:${hex('2', 64)}`, size: 5 },
    ],
  }))
  const srv = await fakeRegistry(t, {
    [`GET /v2/${repoName}/manifests/json`]: serveDoc(manifestJson(), { 'content-type': 'application/json; charset=utf-8' }),
    [`GET /v2/${repoName}/manifests/inferred`]: serveDoc(polluting, { 'content-type': 'application/json' }),
    [`GET /v2/${repoName}/manifests/index`]: serveDoc(index, { 'content-type': 'text/plain' }),
    [`GET /v2/${repoName}/manifests/docker`]: serveDoc(manifestJson({ mediaType: mediaTypes.dockerManifest }), { 'content-type': mediaTypes.dockerManifest }),
  })
  const { client } = newClient()
  const repo = { registry: srv.host, repository: repoName }
  const json = await client.getManifest(repo, 'json')
  t.equal(json.kind, 'manifest')
  t.equal(json.manifest?.layers[1]?.digest, `sha512:${hex('c', 128)}`, 'sha512 digests are fine')
  const inferred = await client.getManifest(repo, 'inferred')
  t.equal(inferred.descriptor.mediaType, mediaTypes.ociManifest, 'inferred from config+layers')
  t.same(inferred.manifest?.config.annotations, { ok: '1' })
  t.equal(Object.getPrototypeOf(inferred.manifest), Object.prototype)
  t.equal(({} as Record<string, unknown>)['polluted'], undefined, 'no prototype pollution')
  const idx = await client.getManifest(repo, 'index')
  t.equal(idx.kind, 'index')
  t.equal(idx.index?.manifests.length, 2, 'unknown entries are returned')
  t.same(idx.skipped?.map((d) => d.mediaType), ['application/vnd.example.thing+json'], '... and marked')
  t.equal((await client.getManifest(repo, 'docker')).descriptor.mediaType, mediaTypes.dockerManifest)
})

t.test('a manifest over 4 MiB', async (t) => {
  const big = Buffer.alloc(4 * 1024 * 1024 + 1, 0x20)
  let chunkedWritten = 0
  const srv = await fakeRegistry(t, {
    [`GET /v2/${repoName}/manifests/announced`]: serveDoc(big),
    [`GET /v2/${repoName}/manifests/chunked`]: async (_req, res) => {
      res.writeHead(200, { 'content-type': mediaTypes.ociManifest })
      // 64 MiB in all unless the client hangs up.
      for (let i = 0; i < 64 && !res.destroyed; i++) {
        const ok = res.write(Buffer.alloc(1024 * 1024, 0x20))
        chunkedWritten++
        if (!ok) await new Promise((r) => { res.once('drain', r); res.once('close', r) })
      }
      res.end()
    },
  })
  const { client } = newClient()
  const repo = { registry: srv.host, repository: repoName }
  await t.rejects(client.getManifest(repo, 'announced'), { name: 'IntegrityError', message: /announced: manifest: larger than the 4 MiB allowed/ })
  await t.rejects(client.getManifest(repo, 'chunked'), { name: 'IntegrityError', message: /chunked: manifest: larger than the 4 MiB allowed/ })
  t.ok(chunkedWritten < 64, `the client hung up early (${chunkedWritten} MiB written)`)
})

t.test('truncated blob downloads', async (t) => {
  t.test('always cut off: retried, then an error naming repo and digest', async (t) => {
    const srv = await fakeRegistry(t, {
      [`GET ${blobPath}`]: (_req, res) => {
        res.writeHead(200, { 'content-length': String(blobBytes.length) })
        res.write(blobBytes.subarray(0, 1000), () => res.destroy())
      },
    })
    const { client } = newClient({ attempts: 3 })
    const got: Buffer[] = []
    const err = await collect(await client.fetchBlob({ registry: srv.host, repository: repoName }, blobDesc), got).catch((e: unknown) => e)
    t.type(err, Error)
    t.match((err as Error).message, `pulling ${srv.host}/${repoName}: blob ${blobDesc.digest}: download failed after 3 attempts`)
    t.equal(srv.requests.length, 3)
    t.equal(srv.requests[1]?.headers.range, 'bytes=1000-', 'resumes where it stopped')
    t.ok(Buffer.concat(got).length < blobBytes.length)
  })
  t.test('cut off once: resumed with Range', async (t) => {
    let n = 0
    const full = serveBlob(blobBytes)
    const srv = await fakeRegistry(t, {
      [`GET ${blobPath}`]: (req, res, body) => {
        if (n++ > 0) return full(req, res, body)
        res.writeHead(200, { 'content-length': String(blobBytes.length) })
        res.write(blobBytes.subarray(0, 7000), () => res.destroy())
      },
    })
    const { client } = newClient()
    const data = await collect(await client.fetchBlob({ registry: srv.host, repository: repoName }, blobDesc))
    t.ok(data.equals(blobBytes))
    t.equal(srv.requests[1]?.headers.range, 'bytes=7000-')
  })
  t.test('cut off once, and the server ignores Range', async (t) => {
    let n = 0
    const srv = await fakeRegistry(t, {
      [`GET ${blobPath}`]: (_req, res) => {
        res.writeHead(200, { 'content-length': String(blobBytes.length) })
        if (n++ > 0) res.end(blobBytes)
        else res.write(blobBytes.subarray(0, 7000), () => res.destroy())
      },
    })
    const { client } = newClient()
    const data = await collect(await client.fetchBlob({ registry: srv.host, repository: repoName }, blobDesc))
    t.ok(data.equals(blobBytes))
  })
})

t.test('a stalled download is aborted and retried', async (t) => {
  let n = 0
  const full = serveBlob(blobBytes)
  const srv = await fakeRegistry(t, {
    [`GET ${blobPath}`]: (req, res, body) => {
      if (n++ > 0) return full(req, res, body)
      res.writeHead(200, { 'content-length': String(blobBytes.length) })
      res.write(blobBytes.subarray(0, 3000)) // and then nothing
    },
    [`GET /v2/${repoName}/manifests/slow`]: () => undefined, // never answers
  })
  const { client, log } = newClient({ stallTimeoutMs: 200, attempts: 2 })
  const started = Date.now()
  const data = await collect(await client.fetchBlob({ registry: srv.host, repository: repoName }, blobDesc))
  t.ok(data.equals(blobBytes))
  t.equal(srv.requests.length, 2)
  t.ok(log.lines.some((l) => /stalled: no data for 200 ms/.test(l)), 'the stall is logged')
  t.ok(Date.now() - started < 5000)
  await t.rejects(client.getManifest({ registry: srv.host, repository: repoName }, 'slow'), {
    message: `pulling ${srv.host}/${repoName}:slow: failed after 2 attempts: stalled: no data for 200 ms`,
  })
})

t.test('destroying a blob stream hangs up at once', async (t) => {
  let serverSawClose: (() => void) | undefined
  const closed = new Promise<void>((r) => { serverSawClose = r })
  const srv = await fakeRegistry(t, {
    [`GET ${blobPath}`]: (_req, res) => {
      res.writeHead(200, { 'content-length': String(blobBytes.length) })
      res.write(blobBytes.subarray(0, 3000)) // and then nothing
      res.on('close', () => serverSawClose?.())
    },
  })
  const { client } = newClient({ stallTimeoutMs: 60_000 })
  const stream = await client.fetchBlob({ registry: srv.host, repository: repoName }, blobDesc)
  const started = Date.now()
  stream.resume() // start reading; the server stops after 3000 bytes
  await new Promise((r) => setTimeout(r, 100))
  stream.destroy()
  await closed
  t.ok(Date.now() - started < 5000, 'the request was aborted, not left to the stall timer')
  t.equal(srv.requests.length, 1, 'no retry after destroy')
})

t.test('429 and 503 are retried, honouring Retry-After', async (t) => {
  const doc = manifestJson()
  const statuses = [429, 503]
  let always = 0
  const srv = await fakeRegistry(t, {
    [`GET /v2/${repoName}/manifests/1`]: (req, res, body) => {
      const s = statuses.shift()
      if (s === undefined) return serveDoc(doc)(req, res, body)
      res.writeHead(s, { 'retry-after': '0' }).end('busy')
    },
    [`GET /v2/${repoName}/manifests/down`]: (_req, res) => {
      always++
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAVAILABLE","message":"down for maintenance"}]}')
    },
  })
  const { client } = newClient({ attempts: 4, retryDelayMs: 1 })
  const repo = { registry: srv.host, repository: repoName }
  const m = await client.getManifest(repo, '1')
  t.equal(m.descriptor.digest, sha256Digest(doc))
  t.equal(srv.requests.length, 3)
  await t.rejects(client.getManifest(repo, 'down'), { message: /down: failed after 4 attempts: HTTP 503: UNAVAILABLE: down for maintenance/ })
  t.equal(always, 4)
})

async function configWith(t: Test, auths: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'keel-dockercfg-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const p = join(dir, 'config.json')
  await writeFile(p, JSON.stringify({ auths }))
  return p
}
const basic = (user: string, pass: string): string => Buffer.from(`${user}:${pass}`).toString('base64')

t.test('endless 401s end in one clear UserError', async (t) => {
  let registryHits = 0
  let tokenHits = 0
  const srv = await fakeRegistry(t, {
    [`GET /v2/${repoName}/manifests/1`]: (_req, res) => {
      registryHits++
      res.writeHead(401, { 'www-authenticate': `Bearer realm="${srv.url}/token",service="fake",scope="repository:${repoName}:pull"`, 'content-type': 'application/json' })
      res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}')
    },
    'GET /token': (_req, res) => {
      tokenHits++
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `t${tokenHits}` }))
    },
  })
  const { client } = newClient({ dockerConfig: await configWith(t, { [srv.host]: { auth: basic('bob', 'nope') } }) })
  const err = await client.getManifest({ registry: srv.host, repository: repoName }, '1').catch((e: unknown) => e)
  t.type(err, UserError)
  t.match((err as Error).message, `pulling ${srv.host}/${repoName}:1: ${srv.host}: access denied for repository:${repoName}:pull: tried anonymously, then a bearer token from ${srv.url}/token (user "bob" from`)
  t.match((err as Error).message, /UNAUTHORIZED: authentication required/)
  t.equal(registryHits, 2, 'one re-auth, no loop')
  t.equal(tokenHits, 1)

  // Basic: the same.
  let basicHits = 0
  const srv2 = await fakeRegistry(t, {
    [`GET /v2/${repoName}/manifests/1`]: (_req, res) => {
      basicHits++
      res.writeHead(401, { 'www-authenticate': 'Basic realm="x"' }).end()
    },
  })
  const { client: c2 } = newClient({ dockerConfig: await configWith(t, { [`http://${srv2.host}/v2/`]: { username: 'carol', password: 'bad' } }) })
  await t.rejects(c2.getManifest({ registry: srv2.host, repository: repoName }, '1'), {
    name: 'UserError', message: /access denied.*tried anonymously, then basic auth as user "carol"/,
  })
  t.equal(basicHits, 2)
})

t.test('bearer token flow: scope asked for, token reused, push scope asked anew', async (t) => {
  const doc = manifestJson()
  const tokenRequests: URL[] = []
  const validTokens = new Map<string, string>()
  let base = ''
  const needs = (scope: string, then: Route): Route => (req, res, body) => {
    const auth = req.headers.authorization ?? ''
    const granted = auth.startsWith('Bearer ') ? validTokens.get(auth.slice(7)) : undefined
    if (granted === undefined || !granted.split(' ').includes(scope)) {
      res.writeHead(401, { 'www-authenticate': `Bearer realm="${base}/token",service="fake-registry",scope="${scope}"` }).end()
      return
    }
    return then(req, res, body)
  }
  const pull = `repository:${repoName}:pull`
  const push = `repository:${repoName}:pull,push`
  const up = Buffer.from('uploaded bytes')
  const upDesc: Descriptor = { mediaType: mediaTypes.ociLayer, digest: sha256Digest(up), size: up.length }
  const srv = await fakeRegistry(t, {
    'GET /token': (req, res) => {
      const url = new URL(req.url ?? '/', 'http://x')
      tokenRequests.push(url)
      if (req.headers.authorization !== `Basic ${basic('alice', 'pw')}`) {
        res.writeHead(401).end()
        return
      }
      const token = `tok${tokenRequests.length}`
      validTokens.set(token, url.searchParams.getAll('scope').join(' '))
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: token, expires_in: 300 }))
    },
    [`GET /v2/${repoName}/manifests/1`]: needs(pull, serveDoc(doc)),
    [`GET ${blobPath}`]: needs(pull, serveBlob(blobBytes)),
    [`HEAD /v2/${repoName}/blobs/${upDesc.digest}`]: needs(push, (_req, res) => { res.writeHead(404).end() }),
    [`POST /v2/${repoName}/blobs/uploads/`]: needs(push, (_req, res) => {
      res.writeHead(202, { location: `/v2/${repoName}/blobs/uploads/abc?_state=xyz` }).end()
    }),
    [`PUT /v2/${repoName}/blobs/uploads/abc`]: needs(push, (_req, res, body) => {
      res.writeHead(body.equals(up) ? 201 : 400, { 'docker-content-digest': upDesc.digest }).end()
    }),
  })
  base = srv.url

  const { client } = newClient({ dockerConfig: await configWith(t, { [srv.host]: { auth: basic('alice', 'pw') } }) })
  const repo = { registry: srv.host, repository: repoName }
  t.equal((await client.getManifest(repo, '1')).descriptor.digest, sha256Digest(doc))
  t.ok((await collect(await client.fetchBlob(repo, blobDesc))).equals(blobBytes))
  t.ok((await collect(await client.fetchBlob(repo, blobDesc))).equals(blobBytes))
  t.equal(tokenRequests.length, 1, 'one token for all pulls')
  t.same(tokenRequests[0]?.searchParams.getAll('scope'), [pull])
  t.equal(tokenRequests[0]?.searchParams.get('service'), 'fake-registry')
  t.equal(srv.requests.filter((r) => r.url.startsWith('/v2/') && r.method === 'GET').length, 4, 'one 401, then three with the token')
  t.equal(await client.pushBlob(repo, upDesc, () => Readable.from([up])), 'uploaded')
  t.equal(tokenRequests.length, 2, 'a second token, for push')
  t.same(tokenRequests[1]?.searchParams.getAll('scope'), [push])
  const put = srv.requests.find((r) => r.method === 'PUT')
  t.equal(put?.url, `/v2/${repoName}/blobs/uploads/abc?_state=xyz&digest=${encodeURIComponent(upDesc.digest)}`, 'Location query kept, digest added')
  t.equal(put?.headers.authorization, 'Bearer tok2')
  t.notOk(srv.requests.filter((r) => r.url.startsWith('/token')).some((r) => r.headers.authorization?.startsWith('Bearer')), 'tokens never go to the token server')
  // Wrong credentials at the token server: a UserError, no loop.
  const { client: wrong } = newClient({ dockerConfig: await configWith(t, { [srv.host]: { auth: basic('alice', 'bad') } }) })
  await t.rejects(wrong.getManifest(repo, '1'), { name: 'UserError', message: /the token server .*\/token refused user "alice"/ })
})

t.test('redirects: credentials stay with the registry', async (t) => {
  const storage = await fakeRegistry(t, {
    [`GET /store${blobPath}`]: serveBlob(blobBytes),
  }, '127.0.0.2')
  let hops = 0
  const srv = await fakeRegistry(t, {
    [`GET ${blobPath}`]: (req, res) => {
      if (req.headers.authorization !== `Basic ${basic('dave', 'pw')}`) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end()
        return
      }
      res.writeHead(307, { location: `${storage.url}/store${blobPath}?X-Signature=secret` }).end()
    },
    [`GET /v2/${repoName}/manifests/loop`]: (_req, res) => {
      hops++
      res.writeHead(302, { location: `/v2/${repoName}/manifests/loop` }).end()
    },
  })
  const { client } = newClient({ dockerConfig: await configWith(t, { [srv.host]: { auth: basic('dave', 'pw') } }) })
  const repo = { registry: srv.host, repository: repoName }
  const data = await collect(await client.fetchBlob(repo, blobDesc))
  t.ok(data.equals(blobBytes))
  t.equal(storage.requests.length, 1)
  t.equal(storage.requests[0]?.headers.authorization, undefined, 'no Authorization sent to the other host')
  t.equal(storage.requests[0]?.url, `/store${blobPath}?X-Signature=secret`)
  t.ok(srv.requests.some((r) => r.headers.authorization !== undefined), 'the registry itself got credentials')
  await t.rejects(client.getManifest(repo, 'loop'), { message: /loop: .*more than 10 redirects/ })
  t.equal(hops, 11)
})

t.test('foreign layers come from their URLs, without credentials, only when the registry lacks them', async (t) => {
  const foreign = await fakeRegistry(t, { 'GET /layer.tar.gz': serveBlob(blobBytes) }, '127.0.0.2')
  const srv = await fakeRegistry(t, {
    [`GET ${blobPath}`]: (req, res) => {
      if (!req.headers.authorization) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end()
        return
      }
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}')
    },
  })
  const desc: Descriptor = {
    ...blobDesc,
    mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
    urls: ['ftp://example.invalid/x', `${foreign.url}/layer.tar.gz`],
  }
  const { client } = newClient({ dockerConfig: await configWith(t, { [srv.host]: { auth: basic('erin', 'pw') } }) })
  const repo = { registry: srv.host, repository: repoName }
  const data = await collect(await client.fetchBlob(repo, desc))
  t.ok(data.equals(blobBytes))
  t.ok(srv.requests.length >= 1, 'the registry was asked first')
  t.equal(foreign.requests.length, 1)
  t.equal(foreign.requests[0]?.headers.authorization, undefined, 'no credentials to the foreign URL')

  // The registry has it: the URL is not used.
  const has = await fakeRegistry(t, { [`GET ${blobPath}`]: serveBlob(blobBytes) })
  const before = foreign.requests.length
  t.ok((await collect(await client.fetchBlob({ registry: has.host, repository: repoName }, desc))).equals(blobBytes))
  t.equal(foreign.requests.length, before)

  // Nowhere: a not-found error naming repo and digest.
  const bad = { ...desc, urls: [`${foreign.url}/missing`] }
  await t.rejects(client.fetchBlob(repo, bad), {
    name: 'RegistryNotFoundError', message: new RegExp(`pulling ${srv.host}/${repoName}: blob ${blobDesc.digest}: not in the registry, nor at its URLs`),
  })
})

t.test('uploads: absolute Location with a query, local data checked', async (t) => {
  const up = Buffer.from('some layer bytes')
  const upDesc: Descriptor = { mediaType: mediaTypes.ociLayer, digest: sha256Digest(up), size: up.length }
  const received: Buffer[] = []
  const srv = await fakeRegistry(t, {
    [`POST /v2/${repoName}/blobs/uploads/`]: (req, res) => {
      const u = new URL(req.url ?? '/', 'http://x')
      if (u.searchParams.get('mount') !== null) {
        res.writeHead(202, { location: `http://${req.headers.host}/upload/session-1?token=a%20b` }).end()
        return
      }
      res.writeHead(202, { location: `http://${req.headers.host}/upload/session-2` }).end()
    },
    'PUT /upload/session-1': (_req, res, body) => {
      received.push(body)
      res.writeHead(201).end()
    },
    'PUT /upload/session-2': (_req, res, body) => {
      received.push(body)
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"errors":[{"code":"DIGEST_INVALID","message":"provided digest did not match uploaded content"}]}')
    },
  })
  const { client } = newClient()
  const repo = { registry: srv.host, repository: repoName }
  t.equal(await client.pushBlob(repo, upDesc, () => Readable.from([up.subarray(0, 5), up.subarray(5)]), { mountFrom: 'elsewhere/app' }), 'uploaded')
  const put = srv.requests.find((r) => r.method === 'PUT')
  t.equal(put?.url, `/upload/session-1?token=a%20b&digest=${encodeURIComponent(upDesc.digest)}`)
  t.ok(received[0]?.equals(up))
  const post = srv.requests.find((r) => r.method === 'POST')
  t.equal(post?.url, `/v2/${repoName}/blobs/uploads/?mount=${encodeURIComponent(upDesc.digest)}&from=elsewhere%2Fapp`)

  // Local bytes that do not match the descriptor are refused, not retried.
  const puts = srv.requests.filter((r) => r.method === 'PUT').length
  const err = await client.pushBlob(repo, upDesc, () => Readable.from([Buffer.from('some layer bytez')])).catch((e: unknown) => e)
  t.type(err, IntegrityError)
  t.match((err as Error).message, `pushing ${srv.host}/${repoName}: blob ${upDesc.digest}: the local blob hashes to`)
  t.ok(srv.requests.filter((r) => r.method === 'PUT').length <= puts + 1)
  // A registry that rejects the upload: the error says why.
  await t.rejects(client.pushBlob(repo, upDesc, () => Readable.from([up])), { message: /unexpected HTTP 400.*DIGEST_INVALID/ })
})

t.test('sha512 blobs and empty blobs', async (t) => {
  const d512: Descriptor = { mediaType: mediaTypes.ociLayer, digest: `sha512:${createHash('sha512').update(blobBytes).digest('hex')}` as Digest, size: blobBytes.length }
  const empty: Descriptor = { mediaType: mediaTypes.ociLayer, digest: sha256Digest(''), size: 0 }
  const srv = await fakeRegistry(t, {
    [`GET /v2/${repoName}/blobs/${d512.digest}`]: serveBlob(blobBytes),
    [`GET /v2/${repoName}/blobs/${empty.digest}`]: serveBlob(Buffer.alloc(0)),
  })
  const { client } = newClient()
  const repo = { registry: srv.host, repository: repoName }
  t.ok((await collect(await client.fetchBlob(repo, d512))).equals(blobBytes))
  t.equal((await collect(await client.fetchBlob(repo, empty))).length, 0)
})

t.test('HTTPS by default: a plain-HTTP registry not listed as insecure', async (t) => {
  const srv = await fakeRegistry(t, { [`GET /v2/${repoName}/manifests/1`]: serveDoc(manifestJson()) }, '127.0.0.2')
  const { client } = newClient()
  const err = await client.getManifest({ registry: srv.host, repository: repoName }, '1').catch((e: unknown) => e)
  t.type(err, UserError)
  t.match((err as Error).message, `pulling ${srv.host}/${repoName}:1: GET https://${srv.host}/v2/${repoName}/manifests/1: TLS failed`)
  t.match((err as UserError).hint, /insecure/)
  t.equal(srv.requests.length, 0)
  const { client: insecure } = newClient({ insecure: ['127.0.0.2'] })
  t.equal((await insecure.getManifest({ registry: srv.host, repository: repoName }, '1')).kind, 'manifest')
})

t.test('bad input is refused before any request', async (t) => {
  const { client } = newClient()
  await t.rejects(client.getManifest({ registry: '127.0.0.1:1', repository: '../etc' }, '1'), { name: 'UserError', message: /invalid repository name/ })
  await t.rejects(client.getManifest({ registry: '127.0.0.1:1', repository: 'a/b' }, 'bad/tag'), { name: 'UserError', message: /invalid tag or digest/ })
  await t.rejects(client.fetchBlob({ registry: '127.0.0.1:1', repository: 'a/b' }, { mediaType: 'x', digest: 'sha256:XYZ' as Digest, size: 1 }), { name: 'UserError', message: /malformed digest/ })
  await t.rejects(client.putManifest({ registry: '127.0.0.1:1', repository: 'a/b' }, sha256Digest('a'), Buffer.from('b'), mediaTypes.ociManifest), { name: 'UserError', message: /hash to/ })
})
