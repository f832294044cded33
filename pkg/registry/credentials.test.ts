// Docker config parsing, credential helpers (a fake one on PATH), and the
// client using them end to end against small fake registries.
import t, { type Test } from 'tap'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { homedir, tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { UserError } from '../errors/index.js'
import { createRealRunner, createRecordingRunner } from '../exec/index.js'
import { createMemoryLogger } from '../log/index.js'
import { mediaTypes, sha256Digest } from '../oci/index.js'
import { startFakeServer } from '../../test/helpers/registry.js'
import {
  RegistryClient, defaultDockerConfigPath, loadDockerConfig, lookupCredentials, normalizeConfigKey, parseDockerConfig,
} from './index.js'

const b64 = (s: string): string => Buffer.from(s).toString('base64')

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'keel-creds-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** A docker-credential-<name> script answering for `server` only; records its stdin in `<dir>/<name>.log`. */
async function fakeHelper(dir: string, name: string, server: string, answer: string): Promise<void> {
  const p = join(dir, `docker-credential-${name}`)
  await writeFile(p, [
    '#!/bin/sh',
    `[ "$1" = get ] || { echo "unexpected $1" >&2; exit 3; }`,
    'read -r url',
    `printf '%s\\n' "$url" >> "${join(dir, `${name}.log`)}"`,
    `if [ "$url" = '${server}' ]; then printf '%s' '${answer}'; exit 0; fi`,
    'echo "credentials not found in native keychain" >&2',
    'exit 1',
    '',
  ].join('\n'))
  await chmod(p, 0o755)
}

t.test('config keys name registries', async (t) => {
  t.equal(normalizeConfigKey('https://index.docker.io/v1/'), 'docker.io')
  t.equal(normalizeConfigKey('index.docker.io'), 'docker.io')
  t.equal(normalizeConfigKey('registry-1.docker.io'), 'docker.io')
  t.equal(normalizeConfigKey('http://localhost:5000/v2/'), 'localhost:5000')
  t.equal(normalizeConfigKey('GHCR.io'), 'ghcr.io')
  t.equal(defaultDockerConfigPath({ DOCKER_CONFIG: '/etc/dc' }), '/etc/dc/config.json')
  t.equal(defaultDockerConfigPath({}), join(homedir(), '.docker', 'config.json'))
})

t.test('parsing a docker config', async (t) => {
  const log = createMemoryLogger()
  const runner = createRecordingRunner()
  const opts = { runner, log, path: '/nonexistent' }
  const config = parseDockerConfig(JSON.stringify({
    auths: {
      'https://index.docker.io/v1/': { auth: b64('hubuser:hub:pass') },
      'ghcr.io': { username: 'gh', password: 'tok' },
      'quay.io': { auth: '', identitytoken: 'refresh-me' },
      'helper-kept.example': { auth: '' },
      'http://localhost:5000': { auth: b64('local:pw') },
    },
    credsStore: 'desktop',
    credHelpers: { 'gcr.io': 'gcloud' },
  }), '/cfg.json')
  t.same(await lookupCredentials(config, 'docker.io', opts), { username: 'hubuser', password: 'hub:pass', source: '/cfg.json' }, 'docker.io under its v1 URL; password may hold colons')
  t.same(await lookupCredentials(config, 'ghcr.io', opts), { username: 'gh', password: 'tok', source: '/cfg.json' })
  t.same(await lookupCredentials(config, 'quay.io', opts), { identityToken: 'refresh-me', source: '/cfg.json' })
  t.equal(await lookupCredentials(config, 'helper-kept.example', opts), undefined, 'an empty auth is no credentials')
  t.same(await lookupCredentials(config, 'localhost:5000', opts), { username: 'local', password: 'pw', source: '/cfg.json' })
  t.equal(await lookupCredentials(config, 'other.example', opts), undefined)
  t.equal(await lookupCredentials(undefined, 'ghcr.io', opts), undefined)
  t.equal(runner.commands.length, 0, 'helpers not on PATH are not run')
  t.ok(log.lines.some((l) => l.includes('docker-credential-desktop') && l.includes('not installed')), 'a missing helper is logged at debug')
  t.ok(log.lines.every((l) => l.startsWith('keel: debug:')))

  t.throws(() => parseDockerConfig('{nope', '/c.json'), { name: 'UserError', message: /docker config \/c\.json: not valid JSON/ })
  t.throws(() => parseDockerConfig('{"auths":[]}', '/c.json'), { message: /"auths" is not an object/ })
  t.throws(() => parseDockerConfig('{"credHelpers":{"x":"../../bin/sh"}}', '/c.json'), { message: /not a helper name/ })
  const badAuth = parseDockerConfig(JSON.stringify({ auths: { 'r.example': { auth: '!!!' } } }), '/c.json')
  await t.rejects(lookupCredentials(badAuth, 'r.example', opts), UserError)
  t.same(parseDockerConfig('', '/empty.json').auths.size, 0)
})

t.test('loading: a missing file is no credentials', async (t) => {
  const dir = await tempDir(t)
  t.equal(await loadDockerConfig(join(dir, 'missing.json')), undefined)
  await writeFile(join(dir, 'c.json'), JSON.stringify({ auths: { 'a.example': { auth: b64('u:p') } } }))
  t.equal((await loadDockerConfig(join(dir, 'c.json')))?.auths.size, 1)
  await t.rejects(loadDockerConfig(dir), { name: 'UserError' }, 'a directory is an error')
})

t.test('credential helpers', async (t) => {
  const dir = await tempDir(t)
  await fakeHelper(dir, 'fake', 'reg.example:5000', '{"ServerURL":"reg.example:5000","Username":"helped","Secret":"s3"}')
  await fakeHelper(dir, 'hub', 'https://index.docker.io/v1/', '{"ServerURL":"https://index.docker.io/v1/","Username":"<token>","Secret":"idtok"}')
  await fakeHelper(dir, 'store', 'store.example', '{"Username":"st","Secret":"pw"}')
  const log = createMemoryLogger()
  const opts = { runner: createRealRunner(), log, path: `${dir}${delimiter}/usr/bin${delimiter}/bin` }
  const config = parseDockerConfig(JSON.stringify({
    auths: { 'fallback.example': { auth: b64('inline:pw') }, 'reg.example:5000': {} },
    credHelpers: { 'reg.example:5000': 'fake', 'docker.io': 'hub', 'fallback.example': 'fake' },
    credsStore: 'store',
  }), '/cfg.json')
  t.same(await lookupCredentials(config, 'reg.example:5000', opts), { username: 'helped', password: 's3', source: 'docker-credential-fake' })
  t.same(await lookupCredentials(config, 'docker.io', opts), { identityToken: 'idtok', source: 'docker-credential-hub' }, '<token> means an identity token; docker.io asked as its v1 URL')
  t.same(await lookupCredentials(config, 'store.example', opts), { username: 'st', password: 'pw', source: 'docker-credential-store' }, 'credsStore for the rest')
  t.same(await lookupCredentials(config, 'fallback.example', opts), { username: 'inline', password: 'pw', source: '/cfg.json' }, 'helper without an answer: the inline entry')
  t.equal(await lookupCredentials(config, 'none.example', opts), undefined)
  t.ok(log.lines.some((l) => /docker-credential-fake has no credentials for fallback.example/.test(l)))
})

t.test('the client uses a helper on PATH, and identity tokens', async (t) => {
  const dir = await tempDir(t)
  const doc = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: mediaTypes.ociManifest, config: { mediaType: mediaTypes.ociConfig, digest: sha256Digest('c'), size: 1 }, layers: [] }))
  const serve = (res: import('node:http').ServerResponse): void => {
    res.writeHead(200, { 'content-type': mediaTypes.ociManifest }).end(doc)
  }
  // A Basic registry whose password comes from docker-credential-fake.
  const basicReg = await startFakeServer(t, (req, res) => {
    if (req.headers.authorization !== `Basic ${b64('helped:s3')}`) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="x"' }).end()
      return
    }
    serve(res)
  })
  // A Bearer registry whose token server takes an identity token (OAuth2 refresh grant).
  const form: URLSearchParams[] = []
  const bearerReg = await startFakeServer(t, (req, res, body) => {
    if (req.url === '/oauth' && req.method === 'POST') {
      form.push(new URLSearchParams(body.toString()))
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"access_token":"granted"}')
      return
    }
    if (req.headers.authorization !== 'Bearer granted') {
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${req.headers.host}/oauth",service="svc"` }).end()
      return
    }
    serve(res)
  })
  await fakeHelper(dir, 'fake', basicReg.host, '{"Username":"helped","Secret":"s3"}')
  const configPath = join(dir, 'config.json')
  await writeFile(configPath, JSON.stringify({
    credHelpers: { [basicReg.host]: 'fake', 'missing.example': 'not-installed' },
    auths: { [bearerReg.host]: { identitytoken: 'refresh-123' } },
  }))
  const savedPath = process.env['PATH']
  process.env['PATH'] = `${dir}${delimiter}${savedPath ?? ''}`
  t.teardown(() => {
    process.env['PATH'] = savedPath
  })
  const client = new RegistryClient({ log: createMemoryLogger(), dockerConfig: configPath, attempts: 1 })
  t.equal((await client.getManifest({ registry: basicReg.host, repository: 'a/b' }, 'x')).descriptor.digest, sha256Digest(doc))
  t.equal((await client.getManifest({ registry: bearerReg.host, repository: 'a/b' }, 'x')).descriptor.digest, sha256Digest(doc))
  t.equal(form.length, 1)
  t.equal(form[0]?.get('grant_type'), 'refresh_token')
  t.equal(form[0]?.get('refresh_token'), 'refresh-123')
  t.equal(form[0]?.get('service'), 'svc')
  t.equal(form[0]?.get('scope'), 'repository:a/b:pull')
})
