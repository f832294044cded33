// Registry credentials from a docker config file (~/.docker/config.json):
// inline "auths" entries, and credential helpers (credHelpers, credsStore)
// run as `docker-credential-<name> get` with the server URL on stdin.
import { readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { errorMessage, UserError } from '../errors/index.js'
import { findOnPath, type ToolRunner } from '../exec/index.js'
import type { Logger } from '../log/index.js'
import { isJsonObject, parseJson, type JsonValue } from './json.js'

export interface Credentials {
  username?: string
  password?: string
  /** An OAuth2 refresh token ("identitytoken"), exchanged at the token realm. */
  identityToken?: string
  /** A bearer token sent to the registry as it is ("registrytoken"). */
  registryToken?: string
  /** Where they came from, for messages: "/home/u/.docker/config.json" or "docker-credential-pass". */
  source: string
}

export interface AuthEntry {
  auth?: string
  username?: string
  password?: string
  identitytoken?: string
  registrytoken?: string
}

export interface DockerConfig {
  path: string
  auths: Map<string, AuthEntry>
  credsStore?: string
  credHelpers: Map<string, string>
}

/** $DOCKER_CONFIG/config.json, else ~/.docker/config.json. */
export function defaultDockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env['DOCKER_CONFIG']
  return dir ? join(dir, 'config.json') : join(homedir(), '.docker', 'config.json')
}

/** Reads a docker config file; undefined when there is none. */
export async function loadDockerConfig(path: string): Promise<DockerConfig | undefined> {
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
    throw new UserError(`reading docker config ${path}: ${errorMessage(err)}`)
  }
  return parseDockerConfig(bytes, path)
}

export function parseDockerConfig(bytes: Uint8Array | string, path: string): DockerConfig {
  const fail = (why: string): never => {
    throw new UserError(`docker config ${path}: ${why}`)
  }
  let root: JsonValue
  try {
    root = bytes.length === 0 ? {} : parseJson(bytes)
  } catch (err) {
    return fail(`not valid JSON: ${errorMessage(err)}`)
  }
  if (!isJsonObject(root)) return fail('not a JSON object')
  const config: DockerConfig = { path, auths: new Map(), credHelpers: new Map() }
  const auths = root['auths']
  if (auths !== undefined && auths !== null) {
    if (!isJsonObject(auths)) return fail('"auths" is not an object')
    for (const [key, raw] of Object.entries(auths)) {
      if (!isJsonObject(raw)) return fail(`auths[${JSON.stringify(key)}] is not an object`)
      const entry: AuthEntry = {}
      for (const field of ['auth', 'username', 'password', 'identitytoken', 'registrytoken'] as const) {
        const v = raw[field]
        if (v === undefined || v === null || v === '') continue
        if (typeof v !== 'string') return fail(`auths[${JSON.stringify(key)}].${field} is not a string`)
        entry[field] = v
      }
      config.auths.set(key, entry)
    }
  }
  const store = root['credsStore']
  if (store !== undefined && store !== null && store !== '') {
    if (typeof store !== 'string' || !/^[\w.-]+$/.test(store)) return fail('"credsStore" is not a helper name')
    config.credsStore = store
  }
  const helpers = root['credHelpers']
  if (helpers !== undefined && helpers !== null) {
    if (!isJsonObject(helpers)) return fail('"credHelpers" is not an object')
    for (const [key, v] of Object.entries(helpers)) {
      if (typeof v !== 'string' || !/^[\w.-]+$/.test(v)) return fail(`credHelpers[${JSON.stringify(key)}] is not a helper name`)
      config.credHelpers.set(key, v)
    }
  }
  return config
}

const dockerHubKeys = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com'])

/** The registry host a config key names: "https://index.docker.io/v1/" → "docker.io". */
export function normalizeConfigKey(key: string): string {
  let host = key.trim().toLowerCase()
  host = host.replace(/^[a-z][a-z0-9+.-]*:\/\//, '')
  const slash = host.indexOf('/')
  if (slash >= 0) host = host.slice(0, slash)
  return dockerHubKeys.has(host) ? 'docker.io' : host
}

/** The server URL docker uses for a registry when talking to credential helpers. */
export function helperServerUrl(registry: string): string {
  return registry === 'docker.io' ? 'https://index.docker.io/v1/' : registry
}

function findEntry<T>(map: Map<string, T>, registry: string): T | undefined {
  const want = normalizeConfigKey(registry)
  const exact = map.get(registry)
  if (exact !== undefined) return exact
  for (const [key, value] of map) {
    if (normalizeConfigKey(key) === want) return value
  }
  return undefined
}

export interface LookupOptions {
  runner: ToolRunner
  log: Logger
  /** PATH to look for helpers in (default: process.env.PATH). */
  path?: string
}

/**
 * The credentials for `registry` ("host[:port]", "docker.io"), or undefined.
 * A helper (credHelpers for the registry, else credsStore) is asked first
 * when it is installed; the inline auths entry is the fallback.
 */
export async function lookupCredentials(config: DockerConfig | undefined, registry: string, opts: LookupOptions): Promise<Credentials | undefined> {
  if (config === undefined) return undefined
  const helper = findEntry(config.credHelpers, registry) ?? config.credsStore
  if (helper !== undefined) {
    const fromHelper = await runHelper(helper, registry, opts)
    if (fromHelper !== undefined) return fromHelper
  }
  const entry = findEntry(config.auths, registry)
  if (entry === undefined) return undefined
  return entryCredentials(entry, config.path, registry)
}

function entryCredentials(entry: AuthEntry, path: string, registry: string): Credentials | undefined {
  const creds: Credentials = { source: path }
  if (entry.auth !== undefined) {
    const raw = entry.auth.trim()
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(raw)) {
      throw new UserError(`docker config ${path}: the "auth" for ${registry} is not base64`)
    }
    const decoded = Buffer.from(raw, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon < 0) throw new UserError(`docker config ${path}: the "auth" for ${registry} is not base64 of user:password`)
    creds.username = decoded.slice(0, colon)
    creds.password = decoded.slice(colon + 1)
  }
  if (entry.username !== undefined) creds.username = entry.username
  if (entry.password !== undefined) creds.password = entry.password
  if (entry.identitytoken !== undefined) creds.identityToken = entry.identitytoken
  if (entry.registrytoken !== undefined) creds.registryToken = entry.registrytoken
  if (creds.username === undefined && creds.identityToken === undefined && creds.registryToken === undefined) return undefined
  // An empty "auth" ("" or ":") is how docker marks an entry kept by a helper.
  if (!creds.username && !creds.password && creds.identityToken === undefined && creds.registryToken === undefined) return undefined
  return creds
}

async function runHelper(name: string, registry: string, opts: LookupOptions): Promise<Credentials | undefined> {
  const command = `docker-credential-${name}`
  const found = findOnPath(command, opts.path)
  if (found === undefined) {
    opts.log.debug(`credential helper ${command} (for ${registry}) is not installed; going on without it`)
    return undefined
  }
  let stdout: string
  try {
    const result = await opts.runner.run(found, ['get'], { input: helperServerUrl(registry), timeoutMs: 60_000 })
    stdout = result.stdout
  } catch (err) {
    const why = errorMessage(err)
    const tail = err instanceof Error && 'stderrTail' in err ? String((err as { stderrTail: unknown }).stderrTail) : ''
    if (/credentials not found|not found in native keychain/i.test(`${why}\n${tail}`)) {
      opts.log.debug(`${command} has no credentials for ${registry}`)
    } else {
      opts.log.warn(`credential helper ${command} failed for ${registry}: ${why}; going on without its credentials`)
    }
    return undefined
  }
  let parsed: JsonValue
  try {
    parsed = parseJson(stdout.trim())
  } catch {
    opts.log.warn(`credential helper ${command} printed something that is not JSON; going on without its credentials`)
    return undefined
  }
  if (!isJsonObject(parsed)) return undefined
  const user = parsed['Username']
  const secret = parsed['Secret']
  if (typeof secret !== 'string' || secret === '') return undefined
  if (user === '<token>') return { identityToken: secret, source: command }
  return { username: typeof user === 'string' ? user : '', password: secret, source: command }
}

/** "user alice (from /home/a/.docker/config.json)" — never the secret. */
export function describeCredentials(c: Credentials): string {
  if (c.registryToken !== undefined) return `a registry token from ${c.source}`
  if (c.identityToken !== undefined) return `an identity token from ${c.source}`
  return `user ${JSON.stringify(c.username ?? '')} from ${c.source}`
}
