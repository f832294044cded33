import t from 'tap'
import { parseReference, formatReference, familiarReference, normalizeReference } from './reference.js'

const d = 'sha256:' + 'a'.repeat(64)

t.test('references normalise as Docker does', async (t) => {
  const cases: Array<[string, string]> = [
    ['alpine', 'docker.io/library/alpine:latest'],
    ['alpine:3.20', 'docker.io/library/alpine:3.20'],
    ['library/alpine', 'docker.io/library/alpine:latest'],
    ['docker.io/alpine', 'docker.io/library/alpine:latest'],
    ['index.docker.io/library/alpine:1', 'docker.io/library/alpine:1'],
    ['linuxkit/init:v1.0', 'docker.io/linuxkit/init:v1.0'],
    ['ghcr.io/owner/repo/sub:tag', 'ghcr.io/owner/repo/sub:tag'],
    ['localhost/foo', 'localhost/foo:latest'],
    ['localhost:5000/foo/bar:x', 'localhost:5000/foo/bar:x'],
    ['127.0.0.1:5000/foo', '127.0.0.1:5000/foo:latest'],
    [`alpine@${d}`, `docker.io/library/alpine@${d}`],
    [`alpine:3@${d}`, `docker.io/library/alpine:3@${d}`],
    ['localhost:5000', 'docker.io/library/localhost:5000'],
    ['a.b/c__d-e.f:T_1.2-3', 'a.b/c__d-e.f:T_1.2-3'],
  ]
  for (const [raw, want] of cases) t.equal(normalizeReference(raw), want, raw)
})

t.test('bad references are refused with the reason', async (t) => {
  const bad: Array<[string, RegExp]> = [
    ['', /empty/],
    ['Alpine', /invalid path component/],
    ['alpine:', /malformed tag/],
    ['alpine:-x', /malformed tag/],
    ['alpine@sha256:abc', /malformed digest/],
    ['a//b', /empty path component/],
    ['alpine latest', /whitespace/],
    ['ex_ample.com:x/y', /malformed registry/],
    ['x/' + 'a'.repeat(300), /longer than 255/],
  ]
  for (const [raw, why] of bad) t.throws(() => parseReference(raw), { name: 'UserError', message: why }, raw)
})

t.test('familiar form drops docker.io and library', async (t) => {
  t.equal(familiarReference(parseReference('alpine')), 'alpine:latest')
  t.equal(familiarReference(parseReference('user/app:1')), 'user/app:1')
  t.equal(familiarReference(parseReference('ghcr.io/a/b:1')), 'ghcr.io/a/b:1')
  t.equal(formatReference({ registry: 'r.io', repository: 'x', tag: undefined, digest: undefined }), 'r.io/x')
})
