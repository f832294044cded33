// Image references, normalised as Docker does:
//   alpine              → docker.io/library/alpine:latest
//   user/app:1          → docker.io/user/app:1
//   localhost:5000/x    → localhost:5000/x:latest
//   ghcr.io/o/r@sha256:… keeps its digest (and its tag, if any)
import { UserError } from '../errors/index.js'
import { isDigest, type Digest } from './digest.js'

export const defaultRegistry = 'docker.io'

export interface Reference {
  registry: string
  repository: string
  tag: string | undefined
  digest: Digest | undefined
}

const componentPattern = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/
const tagPattern = /^[\w][\w.-]{0,127}$/
const domainPattern = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$|^\[[0-9a-fA-F:]+\](?::[0-9]+)?$/

/** Parses and normalises an image reference; throws UserError naming what is wrong. */
export function parseReference(raw: string): Reference {
  const fail = (why: string): never => {
    throw new UserError(`invalid image reference ${JSON.stringify(raw)}: ${why}`)
  }
  if (raw.length === 0) fail('empty')
  if (raw.length > 4096) fail('too long')
  if (/\s/.test(raw)) fail('contains whitespace')

  let rest = raw
  let digest: Digest | undefined
  const at = rest.indexOf('@')
  if (at >= 0) {
    const d = rest.slice(at + 1)
    if (!isDigest(d)) fail(`malformed digest ${JSON.stringify(d)}`)
    digest = d as Digest
    rest = rest.slice(0, at)
  }

  let tag: string | undefined
  const lastSlash = rest.lastIndexOf('/')
  const colon = rest.lastIndexOf(':')
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    if (!tagPattern.test(tag)) fail(`malformed tag ${JSON.stringify(tag)}`)
  }

  let registry = defaultRegistry
  const parts = rest.split('/')
  const first = parts[0] ?? ''
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase())) {
    if (!domainPattern.test(first)) fail(`malformed registry ${JSON.stringify(first)}`)
    registry = first === 'index.docker.io' || first === 'registry-1.docker.io' ? defaultRegistry : first
    parts.shift()
  }
  if (parts.length === 0 || parts.some((p) => p === '')) fail('empty path component')
  for (const p of parts) {
    if (!componentPattern.test(p)) fail(`invalid path component ${JSON.stringify(p)} (lowercase letters, digits and . _ - only)`)
  }
  if (registry === defaultRegistry && parts.length === 1) parts.unshift('library')
  const repository = parts.join('/')
  if (repository.length > 255) fail('repository name longer than 255 characters')
  if (tag === undefined && digest === undefined) tag = 'latest'
  return { registry, repository, tag, digest }
}

/** The full normalised form: registry/repository[:tag][@digest]. */
export function formatReference(ref: Reference): string {
  return `${ref.registry}/${ref.repository}${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`
}

/** The short form Docker shows: docker.io/library/ and docker.io/ are dropped. */
export function familiarReference(ref: Reference): string {
  let name = `${ref.registry}/${ref.repository}`
  if (ref.registry === defaultRegistry) {
    name = ref.repository.startsWith('library/') ? ref.repository.slice('library/'.length) : ref.repository
  }
  return `${name}${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`
}

/** Normalises a raw reference string. */
export function normalizeReference(raw: string): string {
  return formatReference(parseReference(raw))
}
