import t from 'tap'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { UserError } from '../errors/index.js'
import {
  hostCodename, mirrorSources, parseDeb822Sources, parseOneLineSources, parseOsRelease, readHostSources,
} from './sources.js'

t.test('one-line format: options, comments, deb-src, merging', async (t) => {
  const text = [
    '# a comment line',
    '',
    'deb http://deb.debian.org/debian bookworm main contrib # trailing comment',
    'deb-src http://deb.debian.org/debian bookworm main',
    'deb [arch=amd64,arm64 signed-by=/usr/share/keyrings/x.gpg] https://example.org/apt/ stable main',
    '  deb [ trusted=yes ] http://ex.org/flat ./',
    'deb http://deb.debian.org/debian bookworm non-free-firmware',
  ].join('\n')
  const got = parseOneLineSources(text, '/etc/apt/sources.list')
  t.same(got, [
    { uri: 'http://deb.debian.org/debian', suite: 'bookworm', components: ['main', 'contrib'], origin: '/etc/apt/sources.list:3' },
    {
      uri: 'https://example.org/apt', suite: 'stable', components: ['main'], origin: '/etc/apt/sources.list:5',
      architectures: ['amd64', 'arm64'], signedBy: '/usr/share/keyrings/x.gpg',
    },
    { uri: 'http://ex.org/flat', suite: './', components: [], origin: '/etc/apt/sources.list:6' },
    { uri: 'http://deb.debian.org/debian', suite: 'bookworm', components: ['non-free-firmware'], origin: '/etc/apt/sources.list:7' },
  ])
})

t.test('one-line format: malformed lines name file:line', async (t) => {
  const cases: [string, RegExp][] = [
    ['deb http://x/debian', /no suite/],
    ['deb http://x/debian bookworm', /no components/],
    ['rpm http://x/ a b', /unknown type "rpm"/],
    ['deb [arch=amd64 http://x/debian bookworm main', /unterminated/],
    ['deb [archamd64] http://x/debian bookworm main', /not key=value/],
    ['deb not-a-uri bookworm main', /not a URI/],
  ]
  for (const [line, re] of cases) {
    const err = catchError(() => parseOneLineSources(`# ok\n${line}\n`, '/etc/apt/x.list'))
    t.ok(err instanceof UserError, line)
    t.match((err as Error).message, /^\/etc\/apt\/x\.list:2: /, line)
    t.match((err as Error).message, re, line)
  }
})

function catchError(fn: () => unknown): unknown {
  try {
    fn()
  } catch (err) {
    return err
  }
  return undefined
}

t.test('deb822 format: multiple URIs and suites, Enabled: no, comments, options', async (t) => {
  const text = [
    '# comment',
    'Types: deb deb-src',
    'URIs: http://deb.debian.org/debian/',
    'Suites: bookworm bookworm-updates',
    'Components: main',
    '  contrib',
    'Architectures: amd64',
    'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
    '',
    '# disabled',
    'Types: deb',
    'URIs: http://disabled.example/',
    'Suites: x',
    'Components: main',
    'Enabled: no',
    '',
    'Types: deb-src',
    'URIs: http://src.example/',
    'Suites: y',
    'Components: main',
    '',
    '',
    'types: deb',
    'uris: http://security.debian.org/debian-security',
    'suites: bookworm-security',
    'components: main',
  ].join('\n')
  const got = parseDeb822Sources(text, '/etc/apt/sources.list.d/debian.sources')
  t.same(got, [
    {
      uri: 'http://deb.debian.org/debian', suite: 'bookworm', components: ['main', 'contrib'],
      origin: '/etc/apt/sources.list.d/debian.sources:2', architectures: ['amd64'],
      signedBy: '/usr/share/keyrings/debian-archive-keyring.gpg',
    },
    {
      uri: 'http://deb.debian.org/debian', suite: 'bookworm-updates', components: ['main', 'contrib'],
      origin: '/etc/apt/sources.list.d/debian.sources:2', architectures: ['amd64'],
      signedBy: '/usr/share/keyrings/debian-archive-keyring.gpg',
    },
    {
      uri: 'http://security.debian.org/debian-security', suite: 'bookworm-security', components: ['main'],
      origin: '/etc/apt/sources.list.d/debian.sources:23',
    },
  ])
})

t.test('deb822 format: malformed input names file:line', async (t) => {
  t.throws(() => parseDeb822Sources('Types: deb\nthis is not a field\n', 'f.sources'), /f\.sources:2: malformed deb822 line/)
  t.throws(() => parseDeb822Sources(' leading continuation\n', 'f.sources'), /f\.sources:1: .*continuation/)
  t.throws(() => parseDeb822Sources('\nTypes: deb\nSuites: a\nComponents: main\n', 'f.sources'), /f\.sources:2: .*no URIs/)
  t.throws(() => parseDeb822Sources('Types: deb\nURIs: http://x/\nComponents: main\n', 'f.sources'), /no Suites/)
  t.throws(() => parseDeb822Sources('Types: deb\nURIs: http://x/\nSuites: a\n', 'f.sources'), /no Components/)
  t.throws(() => parseDeb822Sources('Types: rpm\nURIs: http://x/\nSuites: a\nComponents: m\n', 'f.sources'), /unknown source type/)
  t.ok(catchError(() => parseDeb822Sources('Types: deb\nbad\n', 'f.sources')) instanceof UserError)
})

t.test('readHostSources reads sources.list, *.list and *.sources, ignores other names', async (t) => {
  const root = t.testdir()
  mkdirSync(join(root, 'etc/apt/sources.list.d'), { recursive: true })
  writeFileSync(join(root, 'etc/apt/sources.list'), 'deb http://a.example/debian bookworm main\n')
  writeFileSync(join(root, 'etc/apt/sources.list.d/b.list'), 'deb http://b.example/debian bookworm main\ndeb http://a.example/debian bookworm contrib\n')
  writeFileSync(join(root, 'etc/apt/sources.list.d/c.sources'), 'Types: deb\nURIs: http://c.example/\nSuites: s\nComponents: main\n')
  writeFileSync(join(root, 'etc/apt/sources.list.d/d.list.disabled'), 'garbage that would not parse\n')
  writeFileSync(join(root, 'etc/apt/sources.list.d/e.sources.bak'), 'garbage\n')
  writeFileSync(join(root, 'etc/apt/sources.list.d/f.save'), 'garbage\n')
  const got = readHostSources(root)
  t.same(got.map((s) => [s.uri, s.suite, s.components]), [
    ['http://a.example/debian', 'bookworm', ['main', 'contrib']],
    ['http://b.example/debian', 'bookworm', ['main']],
    ['http://c.example', 's', ['main']],
  ])
  t.equal(got[0]?.origin, `${join(root, 'etc/apt/sources.list')}:1`)

  writeFileSync(join(root, 'etc/apt/sources.list.d/z.list'), 'deb http://z.example/\n')
  t.throws(() => readHostSources(root), new RegExp(`z\\.list:1: malformed`))

  const empty = join(root, 'empty')
  mkdirSync(empty)
  t.same(readHostSources(empty), [])
})

t.test('the host has sources (Debian host)', async (t) => {
  const got = readHostSources('/')
  t.ok(got.length > 0)
  for (const s of got) t.match(s.origin, /:\d+$/)
})

t.test('os-release and hostCodename', async (t) => {
  const text = [
    'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"',
    'NAME="Debian GNU/Linux"',
    'VERSION_ID="12"',
    "VERSION_CODENAME='bookworm'",
    '# comment',
    'ID=debian',
    'HOME_URL="https://www.debian.org/"',
  ].join('\n')
  const f = parseOsRelease(text)
  t.equal(f['PRETTY_NAME'], 'Debian GNU/Linux 12 (bookworm)')
  t.equal(f['VERSION_CODENAME'], 'bookworm')
  t.equal(f['ID'], 'debian')

  const root = t.testdir()
  mkdirSync(join(root, 'etc'))
  t.throws(() => hostCodename(root), /no os-release file/)
  mkdirSync(join(root, 'usr/lib'), { recursive: true })
  writeFileSync(join(root, 'usr/lib/os-release'), 'ID=debian\nVERSION_CODENAME=trixie\n')
  t.equal(hostCodename(root), 'trixie')
  writeFileSync(join(root, 'etc/os-release'), text)
  t.equal(hostCodename(root), 'bookworm')
  writeFileSync(join(root, 'etc/os-release'), 'ID=debian\n')
  t.throws(() => hostCodename(root), /no VERSION_CODENAME/)
  t.match(hostCodename('/'), /^[a-z]+$/)
})

t.test('mirrorSources', async (t) => {
  t.same(mirrorSources('http://mirror.example/debian/', 'bookworm'), [
    { uri: 'http://mirror.example/debian', suite: 'bookworm', components: ['main'], origin: '--mirror' },
    { uri: 'http://mirror.example/debian', suite: 'bookworm-updates', components: ['main'], origin: '--mirror' },
  ])
  t.same(mirrorSources('http://m/debian', 'trixie', ['main', 'contrib']).map((s) => [s.suite, s.components]), [
    ['trixie', ['main', 'contrib']],
    ['trixie-updates', ['main', 'contrib']],
  ])
  t.same(mirrorSources('http://m/debian', 'sid').map((s) => s.suite), ['sid'])
})
