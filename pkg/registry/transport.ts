// HTTP for the registry client: one exchange follows redirects by hand
// (credentials go only to the registry's own origin), answers 401 challenges
// (Bearer tokens cached per registry and scope, or Basic) at most once per
// request, and turns transient failures (429, 5xx, resets, stalls) into
// TransientError for the retry loop.
import { IntegrityError, NetworkError, UserError, errorMessage } from '../errors/index.js'
import { createRealRunner, type ToolRunner } from '../exec/index.js'
import type { Logger } from '../log/index.js'
import { parseWwwAuthenticate, pickChallenge, type Challenge } from './challenge.js'
import {
  defaultDockerConfigPath, describeCredentials, loadDockerConfig, lookupCredentials,
  type Credentials, type DockerConfig,
} from './credentials.js'
import { isJsonObject, parseJson } from './json.js'
import { nodeBodyOf, nodeFetch } from './node-fetch.js'

export interface TransportOptions {
  log: Logger
  insecure?: string[]
  dockerConfig?: string
  runner?: ToolRunner
  fetchImpl?: typeof fetch
  stallTimeoutMs?: number
  attempts?: number
  retryDelayMs?: number
}

/** A failure worth another attempt. */
export class TransientError extends Error {
  readonly retryAfterMs: number | undefined
  constructor(message: string, options: { retryAfterMs?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'TransientError'
    this.retryAfterMs = options.retryAfterMs
  }
}

/** Where a registry's API lives. */
export interface Endpoint {
  /** As in references: "docker.io", "ghcr.io", "127.0.0.1:5000". */
  registry: string
  /** "https://registry-1.docker.io", "http://127.0.0.1:5000". */
  origin: string
}

const maxRedirects = 10
const maxRetryAfterMs = 30_000
const redirectStatuses = new Set([301, 302, 303, 307, 308])
const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]'])

/** The host name of "host[:port]" ("[::1]" keeps its brackets). */
export function hostName(hostPort: string): string {
  if (hostPort.startsWith('[')) {
    const end = hostPort.indexOf(']')
    return end < 0 ? hostPort : hostPort.slice(0, end + 1)
  }
  const colon = hostPort.indexOf(':')
  return (colon < 0 ? hostPort : hostPort.slice(0, colon)).toLowerCase()
}

export function isInsecureHost(hostPort: string, insecure: readonly string[] = []): boolean {
  const host = hostPort.toLowerCase()
  const name = hostName(host)
  if (loopbackHosts.has(name)) return true
  return insecure.some((raw) => {
    const entry = raw.trim().toLowerCase()
    return entry === host || (hostName(entry) === entry && entry === name)
  })
}

/** The API host for a registry name: docker.io is served by registry-1.docker.io. */
export function apiHost(registry: string): string {
  return registry === 'docker.io' ? 'registry-1.docker.io' : registry
}

/**
 * A stall watchdog and abort signal for one attempt. While armed, going
 * `stallMs` without a call to arm() aborts the attempt with a TransientError.
 */
export class Attempt {
  readonly controller = new AbortController()
  private timer: NodeJS.Timeout | undefined
  constructor(private readonly stallMs: number) {}
  get signal(): AbortSignal {
    return this.controller.signal
  }
  arm(): void {
    this.disarm()
    this.timer = setTimeout(() => {
      this.controller.abort(new TransientError(`stalled: no data for ${this.stallMs} ms`))
    }, this.stallMs)
  }
  disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }
  /** The reason when this attempt was aborted by its watchdog. */
  stallReason(): TransientError | undefined {
    return this.signal.aborted && this.signal.reason instanceof TransientError ? this.signal.reason : undefined
  }
}

export type RequestBody = Uint8Array | ReadableStream<Uint8Array>

export interface HttpRequest {
  method: string
  url: URL
  headers?: Record<string, string>
  /** Called for each send (the first, after a 401, after a 307), so that streams can be reopened. */
  body?: () => RequestBody
  /** The registry the request is for; omitted for foreign URLs (sent without any credentials). */
  endpoint?: Endpoint
  /** Token scopes the request needs, e.g. ["repository:x/y:pull"]. */
  scopes?: string[]
}

interface HostAuth {
  scheme?: 'bearer' | 'basic'
  realm?: string
  service?: string
}

interface Token {
  token: string
  expiresAt: number
  /** "a bearer token from https://auth/token (anonymous)", for messages. */
  description: string
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

export class Transport {
  readonly log: Logger
  readonly attempts: number
  readonly retryDelayMs: number
  readonly stallMs: number
  private readonly insecure: string[]
  private readonly fetchImpl: typeof fetch
  private readonly runner: ToolRunner
  private readonly configPath: string
  private config: Promise<DockerConfig | undefined> | undefined
  private readonly creds = new Map<string, Promise<Credentials | undefined>>()
  private readonly hostAuth = new Map<string, HostAuth>()
  private readonly tokens = new Map<string, Promise<Token>>()

  constructor(options: TransportOptions) {
    this.log = options.log
    this.insecure = options.insecure ?? []
    this.fetchImpl = options.fetchImpl ?? nodeFetch
    this.runner = options.runner ?? createRealRunner()
    this.configPath = options.dockerConfig ?? defaultDockerConfigPath()
    this.stallMs = options.stallTimeoutMs ?? 30_000
    this.attempts = Math.max(1, options.attempts ?? 4)
    this.retryDelayMs = options.retryDelayMs ?? 500
  }

  endpoint(registry: string): Endpoint {
    const scheme = isInsecureHost(registry, this.insecure) ? 'http' : 'https'
    return { registry, origin: new URL(`${scheme}://${apiHost(registry)}`).origin }
  }

  newAttempt(): Attempt {
    return new Attempt(this.stallMs)
  }

  /** The pause before attempt n+1 (n counts from 1). */
  backoff(n: number, err: TransientError): number {
    if (err.retryAfterMs !== undefined) return Math.min(err.retryAfterMs, maxRetryAfterMs)
    return Math.min(this.retryDelayMs * 2 ** (n - 1), maxRetryAfterMs)
  }

  async pause(n: number, err: TransientError, what: string): Promise<void> {
    const ms = this.backoff(n, err)
    this.log.debug(`${what}: attempt ${n} of ${this.attempts} failed (${err.message}); retrying in ${ms} ms`)
    await sleep(ms)
  }

  /** Runs `fn` until it succeeds, fails for good, or attempts run out. */
  async withRetries<T>(what: string, fn: (a: Attempt) => Promise<T>): Promise<T> {
    let last: TransientError | undefined
    for (let n = 1; n <= this.attempts; n++) {
      const a = this.newAttempt()
      try {
        return await fn(a)
      } catch (err) {
        const transient = err instanceof TransientError ? err : a.stallReason()
        if (transient === undefined) throw err
        last = transient
        if (n < this.attempts) await this.pause(n, transient, what)
      } finally {
        a.disarm()
      }
    }
    throw new NetworkError(`failed after ${this.attempts} attempts: ${last?.message ?? 'unknown error'}`, { cause: last })
  }

  /**
   * One request: redirects followed, a 401 answered once, 429/5xx and
   * network failures thrown as TransientError. Other statuses are returned.
   */
  async exchange(a: Attempt, req: HttpRequest): Promise<Response> {
    const ep = req.endpoint
    const scopes = req.scopes ?? []
    const tried: string[] = []
    let challengeScopes: string[] = []
    let reauthed = false
    while (true) {
      const authorization = ep === undefined ? undefined : await this.authorization(ep, scopes, challengeScopes, tried, reauthed)
      const res = await this.follow(a, req, authorization, ep?.origin)
      if (res.status === 401 && ep !== undefined) {
        const header = res.headers.get('www-authenticate')
        const detail = await responseDetail(a, res)
        if (reauthed) throw this.authFailure(ep, scopes, tried, detail)
        reauthed = true
        challengeScopes = await this.answerChallenge(ep, scopes, parseWwwAuthenticate(header), header, detail)
        continue
      }
      if (res.status === 429 || (res.status >= 500 && res.status !== 501 && res.status !== 505)) {
        const detail = await responseDetail(a, res)
        throw new TransientError(`HTTP ${res.status}${detail}`, { retryAfterMs: retryAfter(res.headers.get('retry-after')) })
      }
      return res
    }
  }

  /** Sends `req`, following up to 10 redirects; Authorization only to `authOrigin`. */
  async follow(a: Attempt, req: HttpRequest, authorization: string | undefined, authOrigin: string | undefined): Promise<Response> {
    let url = req.url
    let method = req.method
    let body = req.body
    for (let hop = 0; hop <= maxRedirects; hop++) {
      if (url.protocol !== 'https:' && url.protocol !== 'http:') {
        throw new UserError(`refusing to follow a redirect to a ${url.protocol} URL`)
      }
      const headers: Record<string, string> = { ...req.headers }
      if (authorization !== undefined && authOrigin !== undefined && url.origin === authOrigin) {
        headers['authorization'] = authorization
      }
      const init: RequestInit & { duplex?: 'half' } = { method, headers, redirect: 'manual', signal: a.signal }
      const payload = body?.()
      if (payload !== undefined) {
        init.body = payload as NonNullable<RequestInit['body']>
        init.duplex = 'half'
      }
      let res: Response
      a.arm()
      try {
        res = await this.fetchImpl(url, init)
      } catch (err) {
        throw networkError(err, a, method, url)
      } finally {
        a.disarm()
      }
      this.log.debug(`${method} ${safeUrl(url)} → ${res.status}`)
      const location = res.headers.get('location')
      if (!redirectStatuses.has(res.status) || location === null) return res
      await discard(res)
      let next: URL
      try {
        next = new URL(location, url)
      } catch {
        throw new Error(`${safeUrl(url)} redirected to a malformed URL`)
      }
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
        if (method !== 'HEAD') method = 'GET'
        body = undefined
      }
      if (authorization !== undefined && next.origin !== authOrigin && url.origin === authOrigin) {
        this.log.debug(`redirected to ${next.origin}: not sending credentials there`)
      }
      url = next
    }
    throw new NetworkError(`${safeUrl(req.url)}: more than ${maxRedirects} redirects`)
  }

  private auth(registry: string): HostAuth {
    let s = this.hostAuth.get(registry)
    if (s === undefined) {
      s = {}
      this.hostAuth.set(registry, s)
    }
    return s
  }

  private async authorization(ep: Endpoint, scopes: string[], extra: string[], tried: string[], fresh: boolean): Promise<string | undefined> {
    const state = this.auth(ep.registry)
    if (state.scheme === 'bearer') {
      const token = await this.token(ep, state, scopes, extra, fresh)
      tried.push(token.description)
      return `Bearer ${token.token}`
    }
    if (state.scheme === 'basic') {
      const creds = await this.credentials(ep.registry)
      if (creds?.registryToken !== undefined) {
        tried.push(describeCredentials(creds))
        return `Bearer ${creds.registryToken}`
      }
      if (creds?.username !== undefined) {
        tried.push(`basic auth as ${describeCredentials(creds)}`)
        return `Basic ${Buffer.from(`${creds.username}:${creds.password ?? ''}`).toString('base64')}`
      }
    }
    tried.push('anonymously')
    return undefined
  }

  /** Learns what a 401 asks for; returns scopes the challenge named. */
  private async answerChallenge(ep: Endpoint, scopes: string[], challenges: Challenge[], header: string | null, detail: string): Promise<string[]> {
    const c = pickChallenge(challenges)
    const state = this.auth(ep.registry)
    if (c === undefined) {
      throw new UserError(
        `${ep.registry}: authentication required (HTTP 401${detail}) but the registry offered no Bearer or Basic challenge` +
        (header ? ` (WWW-Authenticate: ${header.slice(0, 200)})` : ''))
    }
    if (c.scheme === 'bearer') {
      const realm = c.params['realm']
      if (!realm) throw new UserError(`${ep.registry}: the Bearer challenge names no realm (WWW-Authenticate: ${(header ?? '').slice(0, 200)})`)
      state.scheme = 'bearer'
      state.realm = realm
      if (c.params['service'] !== undefined) state.service = c.params['service']
      else delete state.service
      this.tokens.delete(tokenKey(ep.registry, scopes))
      return (c.params['scope'] ?? '').split(' ').filter((s) => s !== '' && !scopes.includes(s))
    }
    const creds = await this.credentials(ep.registry)
    if (creds === undefined || (creds.username === undefined && creds.registryToken === undefined)) {
      throw new UserError(`${ep.registry}: authentication required (HTTP 401${detail}), and there are no credentials for it in ${this.configPath}`, {
        hint: `log in with: docker login ${ep.registry}  (or point keel at a docker config file that has credentials for it)`,
      })
    }
    state.scheme = 'basic'
    return []
  }

  private authFailure(ep: Endpoint, scopes: string[], tried: string[], detail: string): UserError {
    const what = scopes.length > 0 ? ` for ${scopes.join(' ')}` : ''
    return new UserError(
      `${ep.registry}: access denied${what}: tried ${tried.join(', then ')}; the registry still answered HTTP 401${detail}`,
      { hint: `check the credentials for ${ep.registry} in ${this.configPath} (docker login ${ep.registry}) and that they may access this repository` },
    )
  }

  private credentials(registry: string): Promise<Credentials | undefined> {
    let p = this.creds.get(registry)
    if (p === undefined) {
      p = (async () => {
        this.config ??= loadDockerConfig(this.configPath)
        const config = await this.config
        const c = await lookupCredentials(config, registry, { runner: this.runner, log: this.log })
        this.log.debug(c === undefined ? `no credentials for ${registry} in ${this.configPath}` : `using ${describeCredentials(c)} for ${registry}`)
        return c
      })()
      this.creds.set(registry, p)
    }
    return p
  }

  private async token(ep: Endpoint, state: HostAuth, scopes: string[], extra: string[], fresh: boolean): Promise<Token> {
    const key = tokenKey(ep.registry, scopes)
    const cached = fresh ? undefined : this.tokens.get(key)
    if (cached !== undefined) {
      const t = await cached.catch(() => undefined)
      if (t !== undefined && t.expiresAt > Date.now()) return t
    }
    const p = this.fetchToken(ep, state, [...scopes, ...extra])
    this.tokens.set(key, p)
    p.catch(() => {
      if (this.tokens.get(key) === p) this.tokens.delete(key)
    })
    return p
  }

  private async fetchToken(ep: Endpoint, state: HostAuth, scopes: string[]): Promise<Token> {
    const realmRaw = state.realm ?? ''
    let realm: URL
    try {
      realm = new URL(realmRaw)
    } catch {
      throw new UserError(`${ep.registry}: the token realm ${JSON.stringify(realmRaw)} is not a URL`)
    }
    if (realm.protocol !== 'https:' && realm.protocol !== 'http:') {
      throw new UserError(`${ep.registry}: the token realm ${realm.origin} is not http(s)`)
    }
    let creds = await this.credentials(ep.registry)
    if (creds !== undefined && realm.protocol === 'http:' && !isInsecureHost(realm.host, this.insecure)) {
      this.log.warn(`${ep.registry}: not sending credentials to the plain-HTTP token server ${realm.origin}; asking anonymously`)
      creds = undefined
    }
    const where = `${realm.origin}${realm.pathname}`
    const description = `a bearer token from ${where} (${creds === undefined ? 'anonymous' : describeCredentials(creds)})`
    const url = new URL(realm)
    const req: HttpRequest = { method: 'GET', url, headers: { accept: 'application/json' } }
    let authorization: string | undefined
    if (creds?.identityToken !== undefined) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'keel' })
      if (state.service !== undefined) form.set('service', state.service)
      if (scopes.length > 0) form.set('scope', scopes.join(' '))
      const bytes = Buffer.from(form.toString())
      req.method = 'POST'
      req.headers = { ...req.headers, 'content-type': 'application/x-www-form-urlencoded' }
      req.body = () => bytes
    } else {
      if (state.service !== undefined) url.searchParams.set('service', state.service)
      for (const s of scopes) url.searchParams.append('scope', s)
      if (creds?.username !== undefined) {
        authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password ?? ''}`).toString('base64')}`
      }
    }
    const a = this.newAttempt()
    try {
      const res = await this.follow(a, req, authorization, realm.origin)
      if (res.status === 401 || res.status === 403) {
        const detail = await responseDetail(a, res)
        throw new UserError(`${ep.registry}: the token server ${where} refused ${creds === undefined ? 'an anonymous request' : describeCredentials(creds)} (HTTP ${res.status}${detail})`, {
          hint: `check the credentials for ${ep.registry} in ${this.configPath} (docker login ${ep.registry})`,
        })
      }
      if (res.status === 429 || res.status >= 500) {
        const detail = await responseDetail(a, res)
        throw new TransientError(`token server ${where}: HTTP ${res.status}${detail}`, { retryAfterMs: retryAfter(res.headers.get('retry-after')) })
      }
      if (!res.ok) {
        const detail = await responseDetail(a, res)
        throw new NetworkError(`${ep.registry}: token server ${where}: HTTP ${res.status}${detail}`)
      }
      const body = await readLimited(a, res, 1024 * 1024, () => new IntegrityError(`token server ${where}: answer larger than 1 MiB`))
      let parsed
      try {
        parsed = parseJson(body)
      } catch (err) {
        throw new IntegrityError(`token server ${where}: answer is not JSON: ${errorMessage(err)}`)
      }
      const token = isJsonObject(parsed) ? (parsed['token'] ?? parsed['access_token']) : undefined
      if (typeof token !== 'string' || token === '') throw new IntegrityError(`token server ${where}: answer has no token`)
      const expiresIn = isJsonObject(parsed) && typeof parsed['expires_in'] === 'number' && parsed['expires_in'] > 0 ? parsed['expires_in'] : 60
      this.log.debug(`${ep.registry}: got ${description} for ${scopes.join(' ') || 'no scope'}`)
      // Ten seconds' margin, but never less than half the lifetime.
      return { token, description, expiresAt: Date.now() + Math.max(expiresIn * 500, expiresIn * 1000 - 10_000) }
    } finally {
      a.disarm()
    }
  }
}

function tokenKey(registry: string, scopes: string[]): string {
  return `${registry}\n${[...scopes].sort().join(' ')}`
}

/** Seconds or an HTTP date, in ms; undefined when absent or junk. */
export function retryAfter(header: string | null): number | undefined {
  if (header === null) return undefined
  const h = header.trim()
  if (/^\d+$/.test(h)) return Number(h) * 1000
  const at = Date.parse(h)
  if (Number.isNaN(at)) return undefined
  return Math.max(0, at - Date.now())
}

const transientCodes = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ECONNABORTED',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED',
])
const transientMessages = /socket hang up|other side closed|terminated|ECONNRESET|ETIMEDOUT/i

/** Whether an error from fetch or a body read is a network hiccup worth retrying. */
export function isTransientNetworkError(err: unknown): boolean {
  let e: unknown = err
  for (let depth = 0; depth < 5 && e instanceof Error; depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && transientCodes.has(code)) return true
    if (transientMessages.test(e.message)) return true
    e = e.cause
  }
  return false
}

/** Describes an error with its causes: "fetch failed: connect ECONNREFUSED 127.0.0.1:1". */
export function describeError(err: unknown): string {
  const parts: string[] = []
  let e: unknown = err
  for (let depth = 0; depth < 5 && e !== undefined && e !== null; depth++) {
    const m = e instanceof Error ? e.message : String(e)
    if (m && !parts.includes(m)) parts.push(m)
    e = e instanceof Error ? e.cause : undefined
  }
  return parts.join(': ')
}

function networkError(err: unknown, a: Attempt, method: string, url: URL): Error {
  const stalled = a.stallReason()
  if (stalled !== undefined) return stalled
  if (err instanceof UserError || err instanceof IntegrityError || err instanceof TransientError) return err
  const why = describeError(err)
  if (isTransientNetworkError(err)) return new TransientError(`${method} ${safeUrl(url)}: ${why}`, { cause: err })
  if (url.protocol === 'https:' && isTlsError(err)) {
    return new UserError(`${method} ${safeUrl(url)}: TLS failed: ${why}`, {
      cause: err,
      hint: `if ${url.host} speaks plain HTTP or uses a certificate this machine does not trust, list it as an insecure registry (HTTP)`,
    })
  }
  return new NetworkError(`${method} ${safeUrl(url)}: ${why}`, { cause: err })
}

function isTlsError(err: unknown): boolean {
  let e: unknown = err
  for (let depth = 0; depth < 5 && e instanceof Error; depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && /^(EPROTO|ERR_SSL_|ERR_TLS_|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_)/.test(code)) return true
    e = e.cause
  }
  return false
}

/** Turns an error from reading a response body into what the retry loop needs. */
export function bodyError(err: unknown, a: Attempt): Error {
  const stalled = a.stallReason()
  if (stalled !== undefined) return stalled
  if (err instanceof UserError || err instanceof IntegrityError || err instanceof TransientError) return err
  return new TransientError(`reading the response: ${describeError(err)}`, { cause: err })
}

/** A URL for logs and messages: no query string (pre-signed URLs carry secrets there). */
export function safeUrl(url: URL): string {
  return `${url.origin}${url.pathname}`
}

export async function discard(res: Response): Promise<void> {
  const native = nodeBodyOf(res)
  if (native) {
    native.destroy()
    return
  }
  try {
    await res.body?.cancel()
  } catch {
    // nothing to do
  }
}

/** Reads a body chunk by chunk with the stall watchdog armed while waiting. */
export async function* readBody(a: Attempt, res: Response): AsyncGenerator<Uint8Array> {
  const native = nodeBodyOf(res)
  if (native) {
    yield* readNodeBody(a, native)
    return
  }
  const body = res.body
  if (body === null) return
  const reader = body.getReader()
  try {
    while (true) {
      let r: Awaited<ReturnType<typeof reader.read>>
      a.arm()
      try {
        r = await reader.read()
      } catch (err) {
        throw bodyError(err, a)
      } finally {
        a.disarm()
      }
      if (r.done) return
      yield r.value
    }
  } finally {
    reader.cancel().catch(() => undefined)
  }
}

async function* readNodeBody(a: Attempt, body: NodeJS.ReadableStream & { destroy(): void }): AsyncGenerator<Uint8Array> {
  const it = (body as AsyncIterable<Buffer>)[Symbol.asyncIterator]()
  try {
    while (true) {
      let r: IteratorResult<Buffer>
      a.arm()
      try {
        r = await it.next()
      } catch (err) {
        throw bodyError(err, a)
      } finally {
        a.disarm()
      }
      if (r.done) return
      yield r.value
    }
  } finally {
    body.destroy()
  }
}

/** Reads a whole body of at most `max` bytes; `tooBig` makes the error. */
export async function readLimited(a: Attempt, res: Response, max: number, tooBig: () => Error): Promise<Buffer> {
  const declared = res.headers.get('content-length')
  if (declared !== null && /^\d+$/.test(declared.trim()) && Number(declared) > max) {
    await discard(res)
    throw tooBig()
  }
  const chunks: Buffer[] = []
  let total = 0
  for await (const chunk of readBody(a, res)) {
    total += chunk.byteLength
    if (total > max) throw tooBig()
    chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))
  }
  return Buffer.concat(chunks, total)
}

/** ": MANIFEST_UNKNOWN: manifest unknown" from a registry's error body, or a snippet of text; "" when none. */
export async function responseDetail(a: Attempt, res: Response): Promise<string> {
  let body: Buffer
  try {
    body = await readLimited(a, res, 64 * 1024, () => new Error('too big'))
  } catch {
    await discard(res)
    return ''
  }
  return formatErrorBody(body)
}

export function formatErrorBody(body: Buffer): string {
  if (body.length === 0) return ''
  try {
    const parsed = parseJson(body)
    if (isJsonObject(parsed) && Array.isArray(parsed['errors'])) {
      const msgs = parsed['errors'].flatMap((e) => {
        if (!isJsonObject(e)) return []
        const code = typeof e['code'] === 'string' ? e['code'] : undefined
        const message = typeof e['message'] === 'string' ? e['message'] : undefined
        return [[code, message].filter((x) => x !== undefined).join(': ')]
      }).filter((m) => m !== '')
      if (msgs.length > 0) return `: ${clean(msgs.join('; '))}`
    }
  } catch {
    // not JSON: fall through to text
  }
  const text = clean(body.toString('utf8'))
  return text === '' ? '' : `: ${text}`
}

function clean(s: string): string {
  // eslint-disable-next-line no-control-regex
  const t = s.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim()
  return t.length > 300 ? `${t.slice(0, 300)}…` : t
}
