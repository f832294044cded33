import t from 'tap'
import { parseWwwAuthenticate, pickChallenge } from './index.js'

t.test('WWW-Authenticate parsing', async (t) => {
  t.same(parseWwwAuthenticate('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"'), [{
    scheme: 'bearer',
    params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/alpine:pull' },
  }])
  t.same(parseWwwAuthenticate('Basic realm="Registry Realm"'), [{ scheme: 'basic', params: { realm: 'Registry Realm' } }])
  t.same(parseWwwAuthenticate('BEARER Realm = "https://a/t" , Service=reg, error="insufficient_scope"'), [{
    scheme: 'bearer', params: { realm: 'https://a/t', service: 'reg', error: 'insufficient_scope' },
  }], 'case, spaces and unquoted values')
  t.same(parseWwwAuthenticate('Bearer realm="a \\"quoted\\" realm, with comma",scope="repository:a:pull repository:b:pull"'), [{
    scheme: 'bearer', params: { realm: 'a "quoted" realm, with comma', scope: 'repository:a:pull repository:b:pull' },
  }])
  const two = parseWwwAuthenticate('Basic realm="r1", Bearer realm="https://t/token",service="s"')
  t.same(two.map((c) => c.scheme), ['basic', 'bearer'], 'several challenges in one header')
  t.equal(pickChallenge(two)?.scheme, 'bearer', 'Bearer preferred')
  t.same(parseWwwAuthenticate('Negotiate, Basic realm="x"').map((c) => c.scheme), ['negotiate', 'basic'])
  t.same(parseWwwAuthenticate(''), [])
  t.same(parseWwwAuthenticate(null), [])
  t.same(parseWwwAuthenticate('Bearer'), [{ scheme: 'bearer', params: {} }])
  t.same(parseWwwAuthenticate('Bearer realm="unterminated'), [{ scheme: 'bearer', params: { realm: 'unterminated' } }])
  const proto = parseWwwAuthenticate('Bearer __proto__="x",realm="r"')
  t.same(proto[0]?.params, { realm: 'r' })
  t.equal(({} as Record<string, unknown>)['x'], undefined)
  t.equal(pickChallenge(parseWwwAuthenticate('Digest realm="x"')), undefined)
  // Junk does not throw.
  for (const junk of ['===', ',,,', '"', 'Bearer ,,= ,"x"', '\u0000\u0001']) t.doesNotThrow(() => parseWwwAuthenticate(junk), JSON.stringify(junk))
})
