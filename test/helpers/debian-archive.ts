// A tiny Debian archive for tests, made on the fly: .debs built with
// dpkg-deb, Packages and Packages.xz, an InRelease clearsigned with gpg by a
// throwaway key (in its own GNUPGHOME), all served from 127.0.0.1 by a small
// Node HTTP server whose answers a test can change (to tamper) and whose
// requests it can read back.
import { createHash } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import type { Test } from 'tap'
import { createRealRunner } from '../../pkg/exec/index.js'

const runner = createRealRunner()

export const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex')

/** What the server answers for a path: a body, or a status (optionally `times` times, then a body). */
export type Route = Buffer | { status: number; times?: number; then?: Buffer }

export interface ArchiveServer {
  /** "http://127.0.0.1:PORT" */
  base: string
  routes: Map<string, Route>
  /** Paths requested so far, in order. */
  requests: string[]
  server: Server
}

/** Starts the HTTP server on a free port of 127.0.0.1; closed at the end of `t`. */
export async function startArchiveServer(t: Test): Promise<ArchiveServer> {
  const routes = new Map<string, Route>()
  const requests: string[] = []
  const server = createServer((req, res) => {
    const path = req.url ?? '/'
    requests.push(path)
    const r = routes.get(path)
    if (r === undefined) {
      res.writeHead(404).end('not found')
      return
    }
    if (Buffer.isBuffer(r)) {
      res.writeHead(200, { 'content-length': r.length }).end(r)
      return
    }
    if (r.times !== undefined && r.then !== undefined) {
      if (r.times <= 0) {
        res.writeHead(200).end(r.then)
        return
      }
      r.times--
    }
    res.writeHead(r.status).end(`status ${r.status}`)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const addr = server.address()
  if (addr === null || typeof addr === 'string') throw new Error('no address')
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  }))
  return { base: `http://127.0.0.1:${addr.port}`, routes, requests, server }
}

export interface SigningKey {
  /** GNUPGHOME holding the secret key (short path: gpg-agent's socket lives there). */
  home: string
  fingerprint: string
  /** The public key as a binary keyring file, for Signed-By. */
  keyring: string
  /** The public key, ASCII-armoured. */
  armored: string
}

/** A fresh ed25519 signing key in its own GNUPGHOME, removed (agent stopped) at the end of `t`. */
export async function createSigningKey(t: Test, name = 'keel test archive'): Promise<SigningKey> {
  const home = await mkdtemp(join(tmpdir(), 'keel-gpg-'))
  const env = { GNUPGHOME: home }
  t.teardown(async () => {
    await runner.run('gpgconf', ['--kill', 'all'], { env }).catch(() => undefined)
    await rm(home, { recursive: true, force: true })
  })
  const gpg = ['--batch', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase', '']
  await runner.run('gpg', [...gpg, '--quick-gen-key', `${name} <archive@keel.invalid>`, 'ed25519', 'sign', 'never'], { env })
  const listing = await runner.run('gpg', ['--batch', '--with-colons', '--list-keys'], { env })
  const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(listing.stdout)?.[1]
  if (fingerprint === undefined) throw new Error(`no fingerprint in: ${listing.stdout}`)
  const keyring = join(home, 'public.gpg')
  await runner.run('gpg', ['--batch', '--export', fingerprint], { env, stdoutFile: keyring })
  const armored = (await runner.run('gpg', ['--batch', '--armor', '--export', fingerprint], { env })).stdout
  return { home, fingerprint, keyring, armored }
}

/** `text` clearsigned by `key` (SHA-256), as gpg writes it. */
export async function clearsign(key: SigningKey, text: string): Promise<Buffer> {
  const out = await runner.run('gpg', [
    '--batch', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase', '',
    '--local-user', key.fingerprint, '--digest-algo', 'SHA256', '--clearsign',
  ], { env: { GNUPGHOME: key.home }, input: text })
  return Buffer.from(out.stdout)
}

export interface DebSpec {
  name: string
  version: string
  architecture?: string
  depends?: string
  /** Path in the package (no leading slash) → contents; files under usr/bin are executable. */
  files: Record<string, string>
}

/** Builds a .deb with dpkg-deb in `dir` and returns its bytes. */
export async function buildDeb(dir: string, spec: DebSpec): Promise<Buffer> {
  const tree = join(dir, `${spec.name}_${spec.version}-tree`)
  mkdirSync(join(tree, 'DEBIAN'), { recursive: true })
  const control = [
    `Package: ${spec.name}`, `Version: ${spec.version}`, `Architecture: ${spec.architecture ?? 'amd64'}`,
    'Maintainer: keel tests <tests@keel.invalid>', ...(spec.depends ? [`Depends: ${spec.depends}`] : []), 'Description: a keel test package', '',
  ].join('\n')
  writeFileSync(join(tree, 'DEBIAN/control'), control)
  for (const [path, contents] of Object.entries(spec.files)) {
    mkdirSync(dirname(join(tree, path)), { recursive: true })
    writeFileSync(join(tree, path), contents, { mode: path.startsWith('usr/bin/') ? 0o755 : 0o644 })
  }
  const out = join(dir, `${spec.name}_${spec.version}_${spec.architecture ?? 'amd64'}.deb`)
  await runner.run('dpkg-deb', ['--build', '--root-owner-group', '-Zgzip', tree, out], { env: { SOURCE_DATE_EPOCH: '0' } })
  return readFileSync(out)
}

/** `text` compressed with xz (via a scratch file in `dir`). */
export async function xz(dir: string, name: string, text: string | Buffer): Promise<Buffer> {
  const p = join(dir, name)
  writeFileSync(p, text)
  await runner.run('xz', ['-k', '-f', p])
  return readFileSync(`${p}.xz`)
}

/** A Packages stanza (the last one of a file ends with a blank line too). */
export function stanza(f: Record<string, string | number>): string {
  return Object.entries(f).map(([k, v]) => `${k}: ${v}`).join('\n') + '\n\n'
}

/** A Release file formatted date, e.g. "Sat, 11 Jul 2026 10:16:37 UTC". */
export function releaseDate(d: Date): string {
  return d.toUTCString().replace(/GMT$/, 'UTC')
}

export interface ReleaseOptions {
  suite: string
  /** Path (relative to dists/SUITE/) → bytes, each listed under SHA256. */
  files: Map<string, Buffer>
  components?: string
  byHash?: boolean
  date?: Date
  validUntil?: Date
}

/** The (unsigned) text of a Release file. */
export function releaseText(o: ReleaseOptions): string {
  const lines = [...o.files].map(([p, b]) => ` ${sha256(b)} ${String(b.length).padStart(8)} ${p}`)
  return [
    'Origin: Keel', 'Label: Keel', `Suite: ${o.suite}`, `Codename: ${o.suite}`,
    `Date: ${releaseDate(o.date ?? new Date())}`,
    ...(o.validUntil ? [`Valid-Until: ${releaseDate(o.validUntil)}`] : []),
    'Architectures: amd64', `Components: ${o.components ?? 'main'}`,
    ...(o.byHash ? ['Acquire-By-Hash: yes'] : []),
    'SHA256:', ...lines, '',
  ].join('\n')
}

export interface PublishedPackage {
  deb: Buffer
  /** Fields of its Packages stanza beyond the ones derived from the .deb. */
  spec: DebSpec
}

export interface SuiteOptions {
  /** URL path of the archive root on the server, e.g. "/debian". */
  root: string
  suite: string
  key: SigningKey
  packages: PublishedPackage[]
  date?: Date
  validUntil?: Date
}

export interface PublishedSuite {
  /** The archive root URL, e.g. http://127.0.0.1:PORT/debian */
  uri: string
  inReleasePath: string
  packagesXzPath: string
  /** Package name → URL path of its .deb. */
  debPaths: Map<string, string>
  inRelease: Buffer
  packagesXz: Buffer
}

/**
 * Publishes one suite (component main, amd64) with `packages` on `server`:
 * pool files, main/binary-amd64/Packages.xz and a signed InRelease listing
 * both Packages and Packages.xz (like Debian: only the .xz is served).
 */
export async function publishSuite(server: ArchiveServer, dir: string, o: SuiteOptions): Promise<PublishedSuite> {
  mkdirSync(dir, { recursive: true })
  const debPaths = new Map<string, string>()
  let text = ''
  for (const p of o.packages) {
    const arch = p.spec.architecture ?? 'amd64'
    const filename = `pool/main/${p.spec.name.slice(0, 1)}/${p.spec.name}/${p.spec.name}_${p.spec.version}_${arch}.deb`
    server.routes.set(`${o.root}/${filename}`, p.deb)
    debPaths.set(p.spec.name, `${o.root}/${filename}`)
    text += stanza({
      Package: p.spec.name, Version: p.spec.version, Architecture: arch,
      ...(p.spec.depends ? { Depends: p.spec.depends } : {}),
      Filename: filename, Size: p.deb.length, SHA256: sha256(p.deb),
    })
  }
  const packagesXz = await xz(dir, `${o.suite}-Packages`, text)
  const files = new Map<string, Buffer>([
    ['main/binary-amd64/Packages', Buffer.from(text)],
    ['main/binary-amd64/Packages.xz', packagesXz],
  ])
  const inRelease = await clearsign(o.key, releaseText({
    suite: o.suite, files, ...(o.date ? { date: o.date } : {}), ...(o.validUntil ? { validUntil: o.validUntil } : {}),
  }))
  const dists = `${o.root}/dists/${o.suite}`
  server.routes.set(`${dists}/InRelease`, inRelease)
  server.routes.set(`${dists}/main/binary-amd64/Packages.xz`, packagesXz)
  return {
    uri: `${server.base}${o.root}`,
    inReleasePath: `${dists}/InRelease`,
    packagesXzPath: `${dists}/main/binary-amd64/Packages.xz`,
    debPaths,
    inRelease,
    packagesXz,
  }
}
