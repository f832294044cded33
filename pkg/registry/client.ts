// The OCI distribution client: manifests and blobs, pulled and pushed.
// Everything a registry sends is checked before it is handed on as good:
// documents are bounded, hashed and parsed strictly; blobs are hashed as they
// stream and the stream fails unless size and digest match at the end.
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { IntegrityError, NetworkError, UserError, errorMessage, wrapError } from '../errors/index.js'
import type { Logger } from '../log/index.js'
import type { ToolRunner } from '../exec/index.js'
import {
  digestAlgorithm, isDigest, type Descriptor, type Digest, type ImageIndex, type ImageManifest, type Reference,
} from '../oci/index.js'
import { manifestAccept, maxDocumentBytes, parseDocument } from './document.js'
import {
  Transport, TransientError, discard, readBody, readLimited, responseDetail, safeUrl,
  type Attempt, type Endpoint, type HttpRequest,
} from './transport.js'

export interface Repo {
  registry: string
  repository: string
}

export interface RegistryClientOptions {
  log: Logger
  /** hosts ("host[:port]") reached over plain HTTP; localhost, 127.0.0.1 and [::1] (any port) always are */
  insecure?: string[]
  /** docker config with credentials; default $DOCKER_CONFIG/config.json else ~/.docker/config.json; missing file = no credentials */
  dockerConfig?: string
  /** runs docker-credential-<helper> for credsStore/credHelpers */
  runner?: ToolRunner
  fetchImpl?: typeof fetch
  /** abort when no bytes arrive for this long (default 30000) */
  stallTimeoutMs?: number
  /** attempts for retryable failures (429, 5xx, connection reset, stall): default 4; backoff base (default 500 ms, doubling, honouring Retry-After up to 30 s) */
  attempts?: number
  retryDelayMs?: number
}

export interface FetchedManifest {
  /** mediaType, digest (of the bytes: sha256, or the algorithm of the digest asked for), size */
  descriptor: Descriptor
  bytes: Buffer
  kind: 'manifest' | 'index'
  manifest?: ImageManifest
  index?: ImageIndex
  /** Index entries of media types keel does not know; they are in index.manifests too, and selectPlatform passes them by. */
  skipped?: Descriptor[]
}

/** The registry has no such manifest or blob (HTTP 404). */
export class RegistryNotFoundError extends UserError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options)
    this.name = 'RegistryNotFoundError'
  }
}

/** Like withAction, keeping RegistryNotFoundError's class. */
async function withAction<T>(action: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (err instanceof RegistryNotFoundError) throw new RegistryNotFoundError(`${action}: ${errorMessage(err)}`, { cause: err })
    throw wrapError(action, err)
  }
}

export function repoOf(ref: Reference): Repo {
  return { registry: ref.registry, repository: ref.repository }
}

const componentSource = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*'
const repositoryPattern = new RegExp(`^${componentSource}(?:/${componentSource})*$`)
const registryPattern = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/
const tagPattern = /^[\w][\w.-]{0,127}$/

/** Media types of layers that registries may not hold (fetched from descriptor.urls instead). */
export function isNonDistributable(mediaType: string): boolean {
  return mediaType === 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip' ||
    mediaType.startsWith('application/vnd.oci.image.layer.nondistributable.')
}

const octetStream = 'application/octet-stream'

interface OpenBlob {
  res: Response
  attempt: Attempt
  /** Bytes at the start of the body to drop (a server that ignored our Range). */
  skip: number
  /** Where the bytes come from: the registry, or a foreign URL. */
  source: 'registry' | URL
}

export class RegistryClient {
  private readonly t: Transport
  private readonly log: Logger

  constructor(options: RegistryClientOptions) {
    this.t = new Transport(options)
    this.log = options.log
  }

  /** Fetches a manifest or index by tag or digest, checked and parsed. */
  async getManifest(repo: Repo, reference: string): Promise<FetchedManifest> {
    const image = `${repo.registry}/${repo.repository}${isDigest(reference) ? '@' : ':'}${reference}`
    return withAction(`pulling ${image}`, async () => {
      const ep = this.endpointFor(repo)
      checkReference(reference)
      const url = this.url(ep, repo, `manifests/${reference}`)
      const what = isDigest(reference) ? `manifest ${reference}` : 'manifest'
      const got = await this.t.withRetries(`${image}: ${what}`, async (a) => {
        const res = await this.t.exchange(a, {
          method: 'GET', url, endpoint: ep, scopes: pullScope(repo), headers: { accept: manifestAccept },
        })
        if (res.status !== 200) throw await statusError(a, res, what)
        const tooBig = (): IntegrityError => new IntegrityError(`${what}: larger than the ${maxDocumentBytes / 1024 / 1024} MiB allowed for a manifest`)
        const bytes = await readLimited(a, res, maxDocumentBytes, tooBig)
        return { bytes, contentType: res.headers.get('content-type'), headerDigest: res.headers.get('docker-content-digest') }
      })
      const { bytes } = got
      let digest: Digest
      if (isDigest(reference)) {
        const actual = hashOf(bytes, digestAlgorithm(reference))
        if (actual !== reference) {
          throw new IntegrityError(`manifest ${reference}: the registry sent bytes that hash to ${actual}, not ${reference}`)
        }
        digest = reference
      } else {
        digest = hashOf(bytes, 'sha256')
      }
      const header = got.headerDigest?.trim()
      if (header !== undefined && header !== '') {
        if (!isDigest(header)) throw new IntegrityError(`${what}: malformed Docker-Content-Digest header ${JSON.stringify(header.slice(0, 200))}`)
        const actual = hashOf(bytes, digestAlgorithm(header))
        if (actual !== header) {
          throw new IntegrityError(`manifest ${digest}: the registry's Docker-Content-Digest ${header} does not match the bytes it sent (${actual})`)
        }
      }
      const parsed = (() => {
        try {
          return parseDocument(bytes, got.contentType ?? undefined)
        } catch (err) {
          throw wrapError(`manifest ${digest}`, err)
        }
      })()
      const out: FetchedManifest = {
        descriptor: { mediaType: parsed.mediaType, digest, size: bytes.length },
        bytes,
        kind: parsed.kind,
      }
      if (parsed.manifest) out.manifest = parsed.manifest
      if (parsed.index) out.index = parsed.index
      if (parsed.skipped) out.skipped = parsed.skipped
      this.log.debug(`${image}: ${parsed.kind} ${digest} (${parsed.mediaType}, ${bytes.length} bytes)`)
      return out
    })
  }

  /**
   * A stream of the blob's bytes. It fails (IntegrityError naming repo and
   * digest) when the size or digest do not match the descriptor — consumers
   * must treat data as untrusted until the stream ends cleanly. The last chunk
   * is held back until the digest is verified. With `verifyDigest: false`
   * only the size is checked, for a caller that hashes the bytes itself.
   */
  async fetchBlob(repo: Repo, descriptor: Descriptor, options: { verifyDigest?: boolean } = {}): Promise<Readable> {
    const label = `pulling ${repo.registry}/${repo.repository}: blob ${descriptor.digest}`
    return withAction(label, async () => {
      const ep = this.endpointFor(repo)
      checkDescriptor(descriptor)
      const first = await this.t.withRetries(label, async (a) => this.openBlob(a, ep, repo, descriptor, 0, undefined))
      const live: Live = { attempt: first.attempt, destroyed: false }
      return streamOf(this.pump(ep, repo, descriptor, first, label, live, options.verifyDigest !== false), live)
    })
  }

  /** Whether the registry has the blob (HEAD). */
  async blobExists(repo: Repo, digest: Digest): Promise<boolean> {
    return withAction(`checking ${repo.registry}/${repo.repository}: blob ${digest}`, async () => {
      const ep = this.endpointFor(repo)
      if (!isDigest(digest)) throw new UserError(`malformed digest ${JSON.stringify(digest)}`)
      return this.headBlob(ep, repo, digest, pullScope(repo))
    })
  }

  /**
   * Uploads a blob unless the registry has it; with mountFrom (a repository
   * on the same registry) tries a cross-repo mount first. `open` is called
   * for each attempt; the bytes it gives are checked against the descriptor.
   */
  async pushBlob(repo: Repo, descriptor: Descriptor, open: () => Readable, options: { mountFrom?: string } = {}): Promise<'exists' | 'mounted' | 'uploaded'> {
    const label = `pushing ${repo.registry}/${repo.repository}: blob ${descriptor.digest}`
    return withAction(label, async () => {
      const ep = this.endpointFor(repo)
      checkDescriptor(descriptor)
      const from = options.mountFrom
      if (from !== undefined && !repositoryPattern.test(from)) throw new UserError(`invalid repository to mount from: ${JSON.stringify(from)}`)
      const mounting = from !== undefined && from !== repo.repository
      const scopes = mounting ? [...pushScope(repo), `repository:${from}:pull`] : pushScope(repo)
      if (await this.headBlob(ep, repo, descriptor.digest, scopes)) return 'exists'

      let location: URL | undefined
      if (mounting) {
        const url = this.url(ep, repo, 'blobs/uploads/')
        url.searchParams.set('mount', descriptor.digest)
        url.searchParams.set('from', from)
        const mounted = await this.t.withRetries(`${label}: mount`, async (a) => {
          const res = await this.t.exchange(a, { method: 'POST', url, endpoint: ep, scopes, headers: { 'content-length': '0' } })
          if (res.status === 201) {
            await discard(res)
            return true
          }
          if (res.status === 202) {
            location = uploadLocation(res, url)
            await discard(res)
            return false
          }
          throw await statusError(a, res, `mounting from ${from}`)
        })
        if (mounted) {
          this.log.debug(`${label}: mounted from ${from}`)
          return 'mounted'
        }
        this.log.debug(`${label}: the registry did not mount it from ${from}; uploading`)
      }

      await this.t.withRetries(`${label}: upload`, async (a) => {
        let start = location
        location = undefined
        if (start === undefined) {
          const url = this.url(ep, repo, 'blobs/uploads/')
          const res = await this.t.exchange(a, { method: 'POST', url, endpoint: ep, scopes, headers: { 'content-length': '0' } })
          if (res.status !== 202) throw await statusError(a, res, 'starting the upload')
          start = uploadLocation(res, url)
          await discard(res)
        }
        // Append to the query as it is: re-encoding it could break a signed upload URL.
        const put = new URL(start)
        const query = put.search.length > 1 ? `${put.search}&` : '?'
        put.search = `${query}digest=${encodeURIComponent(descriptor.digest)}`
        const check: { error?: Error } = {}
        const req: HttpRequest = {
          method: 'PUT', url: put, endpoint: ep, scopes,
          headers: { 'content-type': octetStream, 'content-length': String(descriptor.size) },
          body: () => verifiedUpload(open, descriptor, a, check),
        }
        let res: Response
        try {
          res = await this.t.exchange(a, req)
        } catch (err) {
          throw check.error ?? err
        }
        if (check.error) {
          await discard(res)
          throw check.error
        }
        if (res.status !== 201 && res.status !== 204) throw await statusError(a, res, 'uploading')
        await discard(res)
        const echoed = res.headers.get('docker-content-digest')?.trim()
        if (echoed && isDigest(echoed) && digestAlgorithm(echoed) === digestAlgorithm(descriptor.digest) && echoed !== descriptor.digest) {
          throw new IntegrityError(`the registry stored the upload as ${echoed}`)
        }
      })
      return 'uploaded'
    })
  }

  /** Pushes a manifest or index under a tag or its digest; returns its digest. */
  async putManifest(repo: Repo, reference: string, bytes: Buffer, mediaType: string): Promise<Digest> {
    const image = `${repo.registry}/${repo.repository}${isDigest(reference) ? '@' : ':'}${reference}`
    return withAction(`pushing ${image}`, async () => {
      const ep = this.endpointFor(repo)
      checkReference(reference)
      if (bytes.length > maxDocumentBytes) throw new UserError(`manifest: ${bytes.length} bytes is over the 4 MiB registries accept`)
      if (!/^[\w.+-]+\/[\w.+-]+$/.test(mediaType)) throw new UserError(`manifest: malformed media type ${JSON.stringify(mediaType)}`)
      let digest: Digest = hashOf(bytes, 'sha256')
      if (isDigest(reference)) {
        const actual = hashOf(bytes, digestAlgorithm(reference))
        if (actual !== reference) throw new UserError(`manifest: the bytes hash to ${actual}, not ${reference}`)
        digest = reference
      }
      const url = this.url(ep, repo, `manifests/${reference}`)
      await this.t.withRetries(`${image}: manifest`, async (a) => {
        const res = await this.t.exchange(a, {
          method: 'PUT', url, endpoint: ep, scopes: pushScope(repo), headers: { 'content-type': mediaType }, body: () => bytes,
        })
        if (res.status !== 201 && res.status !== 200 && res.status !== 204) throw await statusError(a, res, `manifest ${digest}`)
        await discard(res)
        const echoed = res.headers.get('docker-content-digest')?.trim()
        if (echoed && isDigest(echoed) && digestAlgorithm(echoed) === digestAlgorithm(digest) && echoed !== digest) {
          throw new IntegrityError(`manifest ${digest}: the registry stored it as ${echoed}`)
        }
      })
      return digest
    })
  }

  private endpointFor(repo: Repo): Endpoint {
    if (typeof repo.registry !== 'string' || repo.registry.length > 255 || !registryPattern.test(repo.registry)) {
      throw new UserError(`invalid registry ${JSON.stringify(repo.registry)}`)
    }
    if (typeof repo.repository !== 'string' || repo.repository.length > 255 || !repositoryPattern.test(repo.repository)) {
      throw new UserError(`invalid repository name ${JSON.stringify(repo.repository)}`)
    }
    return this.t.endpoint(repo.registry)
  }

  private url(ep: Endpoint, repo: Repo, rest: string): URL {
    return new URL(`${ep.origin}/v2/${repo.repository}/${rest}`)
  }

  private async headBlob(ep: Endpoint, repo: Repo, digest: Digest, scopes: string[]): Promise<boolean> {
    const url = this.url(ep, repo, `blobs/${digest}`)
    return this.t.withRetries(`${repo.registry}/${repo.repository}: blob ${digest}`, async (a) => {
      const res = await this.t.exchange(a, { method: 'HEAD', url, endpoint: ep, scopes })
      await discard(res)
      if (res.status === 200) return true
      if (res.status === 404) return false
      throw await statusError(a, res, '')
    })
  }

  /**
   * Starts reading a blob at `offset`: from the registry, or (when it has
   * not got the blob) from the descriptor's URLs, without credentials.
   */
  private async openBlob(a: Attempt, ep: Endpoint, repo: Repo, d: Descriptor, offset: number, source: 'registry' | URL | undefined): Promise<OpenBlob> {
    const headers: Record<string, string> = offset > 0 ? { range: `bytes=${offset}-` } : {}
    if (source === undefined || source === 'registry') {
      const url = this.url(ep, repo, `blobs/${d.digest}`)
      const res = await this.t.exchange(a, { method: 'GET', url, endpoint: ep, scopes: pullScope(repo), headers })
      if (res.status === 200 || res.status === 206) {
        return { res, attempt: a, skip: await startOfBody(res, d, offset), source: 'registry' }
      }
      if (res.status !== 404 || source === 'registry' || !d.urls?.length) throw await statusError(a, res, '')
      await discard(res)
      this.log.debug(`${repo.registry}/${repo.repository}: blob ${d.digest} is not in the registry; trying its URLs`)
    }
    const failures: string[] = []
    const candidates = source instanceof URL ? [source] : foreignUrls(d, failures)
    for (const url of candidates) {
      const res = await this.t.exchange(a, { method: 'GET', url, headers })
      if (res.status === 200 || res.status === 206) {
        if (!isNonDistributable(d.mediaType)) this.log.debug(`blob ${d.digest} (${d.mediaType}) comes from ${safeUrl(url)}`)
        return { res, attempt: a, skip: await startOfBody(res, d, offset), source: url }
      }
      failures.push(`${safeUrl(url)}: HTTP ${res.status}${await responseDetail(a, res)}`)
    }
    throw new RegistryNotFoundError(`not in the registry, nor at its URLs (${failures.join('; ') || 'none usable'})`)
  }

  /** The blob's bytes, checked; resumes (Range) after transient failures. */
  private async *pump(ep: Endpoint, repo: Repo, d: Descriptor, first: OpenBlob, label: string, live: Live, verifyDigest: boolean): AsyncGenerator<Buffer> {
    // Without verifyDigest only the size is checked here: the caller hashes
    // the bytes itself (the store does, as it writes them) and must refuse a mismatch.
    const hash = verifyDigest ? createHash(digestAlgorithm(d.digest)) : undefined
    let received = 0
    let held: Buffer | undefined
    let current: OpenBlob | undefined = first
    let failures = 0
    try {
      while (true) {
        try {
          if (current === undefined) {
            const attempt = this.t.newAttempt()
            live.attempt = attempt
            current = await this.openBlob(attempt, ep, repo, d, received, first.source)
          }
          for await (const raw of readBody(current.attempt, current.res)) {
            let chunk = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)
            if (current.skip > 0) {
              const drop = Math.min(current.skip, chunk.length)
              current.skip -= drop
              chunk = chunk.subarray(drop)
              if (chunk.length === 0) continue
            }
            if (received + chunk.length > d.size) {
              throw new IntegrityError(`${label}: the registry sent more than the ${d.size} bytes the descriptor says`)
            }
            hash?.update(chunk)
            received += chunk.length
            if (held !== undefined) yield held
            held = chunk
          }
          if (received < d.size) throw new TransientError(`truncated: got ${received} of ${d.size} bytes`)
          break
        } catch (err) {
          if (live.destroyed) return
          const transient = err instanceof TransientError ? err : current?.attempt.stallReason()
          if (transient === undefined) {
            if (err instanceof IntegrityError && err.message.startsWith(label)) throw err
            throw wrapError(label, err)
          }
          failures++
          if (current !== undefined) {
            await discard(current.res)
            current.attempt.disarm()
          }
          current = undefined
          if (failures >= this.t.attempts) {
            throw new NetworkError(`${label}: download failed after ${failures} attempts, ${received} of ${d.size} bytes in: ${transient.message}`, { cause: err })
          }
          await this.t.pause(failures, transient, label)
          if (live.destroyed) return
        }
      }
      const actual = hash === undefined ? d.digest : `${digestAlgorithm(d.digest)}:${hash.digest('hex')}`
      if (actual !== d.digest) {
        throw new IntegrityError(`${label}: digest mismatch: the ${d.size} bytes received hash to ${actual}`)
      }
      if (held !== undefined) yield held
    } finally {
      if (current !== undefined) {
        current.attempt.disarm()
        await discard(current.res)
      }
    }
  }
}

/** What destroying a blob stream must reach: the request in flight. */
interface Live {
  attempt: Attempt
  destroyed: boolean
}

/**
 * A byte stream driven by `gen`. Destroying it (the consumer gave up) aborts
 * the request in flight at once rather than waiting for the next chunk.
 */
function streamOf(gen: AsyncGenerator<Buffer>, live: Live): Readable {
  return new Readable({
    read() {
      gen.next().then(
        (r) => {
          if (r.done) this.push(null)
          else this.push(r.value)
        },
        (err: unknown) => this.destroy(err instanceof Error ? err : new Error(String(err))),
      )
    },
    destroy(err, callback) {
      if (!live.destroyed) {
        live.destroyed = true
        live.attempt.controller.abort(new Error('blob stream destroyed'))
      }
      gen.return(undefined).then(() => callback(err), () => callback(err))
    },
  })
}

function pullScope(repo: Repo): string[] {
  return [`repository:${repo.repository}:pull`]
}

function pushScope(repo: Repo): string[] {
  return [`repository:${repo.repository}:pull,push`]
}

function checkReference(reference: string): void {
  if (typeof reference !== 'string' || (!isDigest(reference) && !tagPattern.test(reference))) {
    throw new UserError(`invalid tag or digest ${JSON.stringify(reference)}`)
  }
}

function checkDescriptor(d: Descriptor): void {
  if (typeof d.digest !== 'string' || !isDigest(d.digest)) throw new UserError(`malformed digest ${JSON.stringify(d.digest)}`)
  if (!Number.isSafeInteger(d.size) || d.size < 0) throw new UserError(`invalid size ${JSON.stringify(d.size)}`)
}

function hashOf(bytes: Uint8Array, algorithm: 'sha256' | 'sha512'): Digest {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}` as Digest
}

/** The http(s) URLs of a descriptor; others are noted in `failures`. */
function foreignUrls(d: Descriptor, failures: string[]): URL[] {
  const out: URL[] = []
  for (const raw of d.urls ?? []) {
    let u: URL
    try {
      u = new URL(raw)
    } catch {
      failures.push(`${JSON.stringify(raw.slice(0, 100))}: not a URL`)
      continue
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') {
      failures.push(`${u.protocol} URLs are not fetched`)
      continue
    }
    if (u.username || u.password) {
      failures.push(`${safeUrl(u)}: URLs with credentials are not fetched`)
      continue
    }
    out.push(u)
  }
  return out
}

/** Checks a blob response's headers against what was asked for; returns bytes to skip. */
async function startOfBody(res: Response, d: Descriptor, offset: number): Promise<number> {
  const length = res.headers.get('content-length')
  const declared = length !== null && /^\d+$/.test(length.trim()) ? Number(length) : undefined
  if (res.status === 206) {
    const m = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(res.headers.get('content-range')?.trim() ?? '')
    const start = m ? Number(m[1]) : NaN
    if (start !== offset) {
      await discard(res)
      throw new TransientError(`asked for bytes from ${offset} on, got Content-Range ${JSON.stringify(res.headers.get('content-range'))}`)
    }
    if (declared !== undefined && offset + declared > d.size) {
      await discard(res)
      throw new IntegrityError(`the registry offers ${offset + declared} bytes; the descriptor says ${d.size}`)
    }
    return 0
  }
  if (declared !== undefined && declared !== d.size) {
    await discard(res)
    throw new IntegrityError(`the registry offers ${declared} bytes; the descriptor says ${d.size}`)
  }
  return offset
}

/** The upload URL from a 202's Location (relative or absolute). */
function uploadLocation(res: Response, base: URL): URL {
  const loc = res.headers.get('location')
  if (!loc) throw new IntegrityError('the registry started an upload but sent no Location')
  let url: URL
  try {
    url = new URL(loc, base)
  } catch {
    throw new IntegrityError(`the registry sent a malformed upload Location ${JSON.stringify(loc.slice(0, 200))}`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new IntegrityError(`upload Location is not http(s): ${url.protocol}`)
  return url
}

/** The bytes of `open()`, checked against the descriptor as they go out; a mismatch fails the upload. */
function verifiedUpload(open: () => Readable, d: Descriptor, a: Attempt, check: { error?: Error }): ReadableStream<Uint8Array> {
  const fail = (err: Error): Error => {
    check.error = err
    return err
  }
  async function* chunks(): AsyncGenerator<Buffer> {
    const hash = createHash(digestAlgorithm(d.digest))
    let n = 0
    const src = open()
    for await (const c of src as AsyncIterable<Buffer | string>) {
      const b = typeof c === 'string' ? Buffer.from(c) : c
      n += b.length
      if (n > d.size) throw fail(new IntegrityError(`the local blob is larger than the ${d.size} bytes its descriptor says`))
      hash.update(b)
      a.arm()
      yield b
    }
    if (n !== d.size) throw fail(new IntegrityError(`the local blob has ${n} bytes; its descriptor says ${d.size}`))
    const actual = `${digestAlgorithm(d.digest)}:${hash.digest('hex')}`
    if (actual !== d.digest) throw fail(new IntegrityError(`the local blob hashes to ${actual}, not to its descriptor's digest`))
  }
  return Readable.toWeb(Readable.from(chunks(), { objectMode: false })) as unknown as ReadableStream<Uint8Array>
}

/** The error for a status the caller did not expect (401 and transient ones are handled before). */
async function statusError(a: Attempt, res: Response, action: string): Promise<Error> {
  const detail = await responseDetail(a, res)
  const what = action === '' ? '' : `${action}: `
  if (res.status === 404) return new RegistryNotFoundError(`${what}not found (HTTP 404${detail})`)
  if (res.status === 403) {
    return new UserError(`${what}access denied (HTTP 403${detail})`, {
      hint: 'check that your credentials may access this repository (docker login)',
    })
  }
  return new NetworkError(`${what}unexpected HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}${detail}`)
}
