import t from 'tap'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { UserError } from '../errors/index.js'
import { caseInputFile, discoverCases, outputPath, parseLabels, parseRunArgs, parseArgWords, parseShard, parseTimeout, parseWords, portVariable, selectCases, skipReason, type TestCase } from './cases.js'

/** A literal tree: path → contents. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'keel-boottest-'))
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true })
    writeFileSync(join(root, path), text)
  }
  return root
}

t.test('cases are found in name order, nested groups included, case folders not searched further', async (t) => {
  const root = tree({
    'cases/010_b/test.yml': 'kernel: {}\n',
    'cases/010_b/expect': 'b\n',
    'cases/010_b/nested/test.yml': 'not searched',
    'cases/000_group/020_y/manifest': '# base first\n../../../base.yml\n',
    'cases/000_group/020_y/test.yml': 'files: []\n',
    'cases/000_group/020_y/expect': 'y\n',
    'cases/000_group/010_x/manifest': '../../../base.yml\n',
    'cases/000_group/010_x/expect': '/x+/\n',
    'cases/000_group/010_x/labels': 'slow network # a comment\nslow\n',
    'cases/000_group/010_x/timeout': '30\n',
    'cases/000_group/010_x/run-args': '--mem 512 --disk data.img,size=64M\n',
    'cases/000_group/010_x/check': 'exit 0\n',
    'cases/.hidden/test.yml': '',
    'cases/notes/README.md': 'no case here',
    'base.yml': 'kernel: {}\n',
  })
  const cases = await discoverCases(['cases'], root)
  t.same(cases.map((c) => c.name), ['cases/000_group/010_x', 'cases/000_group/020_y', 'cases/010_b'])
  const [x, y] = cases
  t.same(x!.manifests, [join(root, 'base.yml')])
  t.same(y!.manifests, [join(root, 'base.yml'), join(root, 'cases/000_group/020_y/test.yml')], 'the list first, test.yml last')
  t.same(x!.labels, ['slow', 'network'])
  t.equal(x!.timeoutMs, 30_000)
  t.equal(x!.check, join(root, 'cases/000_group/010_x/check'))
  t.same(x!.run, { cpus: 1, memoryMiB: 512, uefi: false, disks: [{ path: 'data.img', format: 'raw', sizeBytes: 64 * 1024 ** 2 }], publish: [], networking: { mode: 'user' }, fwCfg: [] })
  t.equal(y!.check, undefined)
  t.same((await discoverCases(['cases/010_b', 'cases', 'cases/010_b'], root)).length, 3, 'a case named twice runs once')
})

t.test('every bad case is reported at once, naming the file', async (t) => {
  const root = tree({
    'c/a/test.yml': '',
    'c/b/manifest': 'missing.yml\n',
    'c/b/expect': '/[bad/\n',
    'c/b/labels': 'ok no/slash\n',
    'c/b/timeout': 'soon\n',
    'c/b/run-args': '--mem 12 --net user --cpus\n',
    'empty/readme': '',
  })
  const err = await discoverCases(['c', 'empty', 'nope'], root).catch((e: unknown) => e)
  t.type(err, UserError)
  const msg = (err as Error).message
  for (const want of [
    `${join(root, 'c/a')}: a case needs an expect file`,
    `${join(root, 'c/b/manifest')}: missing.yml: no such file`,
    `${join(root, 'c/b/expect')}:1: Invalid regular expression`,
    `${join(root, 'c/b/labels')}: label "no/slash"`,
    `${join(root, 'c/b/timeout')}: a timeout in seconds`,
    `${join(root, 'c/b/run-args')}: --mem must be a number of MiB of at least 64, not "12"`,
    `${join(root, 'c/b/run-args')}: "--net" is not an option a case may set`,
    `${join(root, 'c/b/run-args')}: --cpus needs a value`,
    'empty: no cases',
    'nope: no such folder',
  ]) t.ok(msg.includes(want), want)
})

t.test('small files: words, labels, timeouts, run args', async (t) => {
  t.same(parseWords('a b\n# c\n d # e\n'), ['a', 'b', 'd'])
  t.same(parseArgWords('--data "hello in  plain text" --x a\'b c\'d # note\n--fw-cfg \'opt/x=a#b\'\n', 'r'), {
    words: ['--data', 'hello in  plain text', '--x', 'ab cd', '--fw-cfg', 'opt/x=a#b'], problems: [],
  })
  t.same(parseArgWords('--data "open\n', 'r').problems, ['r:1: a " quote is not closed'])
  t.same(parseLabels('x x y', 'l'), { labels: ['x', 'y'], problems: [] })
  t.same(parseTimeout('2.5\n', 't'), { timeoutMs: 2500, problems: [] })
  t.equal(parseTimeout('0', 't').problems.length, 1)
  t.same(parseRunArgs(['--cpus=2', '--uefi', '--disk-size', '2G', '--disk', '/abs/d.qcow2', '--disk', 'e.img,format=qcow2'], 'r'), {
    run: { cpus: 2, memoryMiB: 1024, uefi: true, disks: [
      { path: '/abs/d.qcow2', format: 'qcow2', sizeBytes: 2 * 1024 ** 3 }, { path: 'e.img', format: 'qcow2', sizeBytes: 2 * 1024 ** 3 },
    ], publish: [], networking: { mode: 'user' }, fwCfg: [] },
    problems: [],
  })
  t.same(parseRunArgs(['--disk', 'x,format=vhd'], 'r').problems, ['r: --disk x,format=vhd: "format=vhd" is not format=raw|qcow2 or size=SIZE'])
})

t.test('run-args: published ports (a free host port when only the guest port is given), data, fw_cfg, networking', async (t) => {
  const { run, problems } = parseRunArgs(['--publish', '22', '--publish=53/udp', '--publish', '127.0.0.2:8080:80', '--data-file', 'user.json', '--fw-cfg', 'opt/keel/userdata=u.json'], 'r')
  t.same(problems, [])
  t.same(run.publish, [
    { hostAddress: '127.0.0.1', guestPort: 22, protocol: 'tcp' },
    { hostAddress: '127.0.0.1', guestPort: 53, protocol: 'udp' },
    { hostAddress: '127.0.0.2', hostPort: 8080, guestPort: 80, protocol: 'tcp' },
  ])
  t.same(run.publish.map(portVariable), ['KEEL_TEST_PORT_22', 'KEEL_TEST_UDP_PORT_53', 'KEEL_TEST_PORT_80'])
  t.equal(run.dataFile, 'user.json')
  t.same(run.fwCfg, [{ name: 'opt/keel/userdata', file: 'u.json' }])
  t.same(parseRunArgs(['--networking', 'none'], 'r').run.networking, { mode: 'none' })
  t.same(parseRunArgs(['--publish', '70000'], 'r').problems, ['r: --publish 70000: the guest port 70000 is out of range (1 to 65535)'])
  t.match(parseRunArgs(['--publish', '22', '--publish', '2222:22'], 'r').problems, [/the guest port 22\/tcp is published twice/])
  t.match(parseRunArgs(['--publish', '22', '--networking', 'none'], 'r').problems, [/--publish needs user networking/])
  t.match(parseRunArgs(['--data', 'a', '--data-file', 'b'], 'r').problems, [/one --data or --data-file/])
  t.match(parseRunArgs(['--fw-cfg', 'etc/x=y'], 'r').problems, [/must start with opt\//])
  t.match(parseRunArgs(['--networking', 'wifi'], 'r').problems, [/unknown mode "wifi"/])
})

t.test('run-args: $KEEL_TEST_OUT/NAME is a file the setup script makes, looked for at boot', async (t) => {
  t.equal(outputPath('$KEEL_TEST_OUT/user-data.json'), 'user-data.json')
  t.equal(outputPath('$KEEL_TEST_OUT/'), undefined)
  t.equal(outputPath('user-data.json'), undefined)
  t.equal(caseInputFile('/c/case', '/out/run1', '$KEEL_TEST_OUT/d/u.json'), '/out/run1/d/u.json')
  t.equal(caseInputFile('/c/case', '/out/run1', 'u.json'), '/c/case/u.json')
  t.equal(caseInputFile('/c/case', '/out/run1', '/abs/u.json'), '/abs/u.json')
  const root = tree({
    'c/made/test.yml': 'kernel: {}\n', 'c/made/expect': 'x\n',
    'c/made/run-args': '--data-file $KEEL_TEST_OUT/user-data.json --fw-cfg opt/keel/x=$KEEL_TEST_OUT/x\n',
  })
  const [c] = await discoverCases(['c/made'], root)
  t.equal(c!.run.dataFile, '$KEEL_TEST_OUT/user-data.json', 'not looked for before the setup script runs')
  const bad = tree({ 'c/x/test.yml': 'kernel: {}\n', 'c/x/expect': 'x\n', 'c/x/run-args': '--data-file nothere.json\n' })
  const err = await discoverCases(['c/x'], bad).catch((e: unknown) => e)
  t.match((err as Error).message, /run-args: nothere\.json: no such file \(paths are relative to the case folder; \$KEEL_TEST_OUT\/NAME is a file the setup script makes\)/)
})

const fake = (name: string, labels: string[] = []): TestCase => ({
  name, dir: `/c/${name}`, manifests: [], expect: [], check: undefined, setup: undefined, labels, timeoutMs: undefined, runArgs: [],
  run: { cpus: 1, memoryMiB: 1024, uefi: false, disks: [], publish: [], networking: { mode: 'user' }, fwCfg: [] },
})

t.test('shards split the sorted selection the same way every time and cover it exactly once', async (t) => {
  const cases = ['e', 'a', 'd', 'c', 'b', 'f', 'g'].map((n) => fake(n))
  const shards = [1, 2, 3].map((index) => selectCases(cases, { shard: { index, count: 3 } }).map((c) => c.name))
  t.same(shards, [['a', 'd', 'g'], ['b', 'e'], ['c', 'f']])
  t.same(shards.flat().sort(), cases.map((c) => c.name).sort())
  t.same(selectCases([...cases].reverse(), { shard: { index: 2, count: 3 } }).map((c) => c.name), ['b', 'e'], 'input order does not matter')
  t.same(selectCases(cases, { shard: { index: 1, count: 1 } }).length, 7)
})

t.test('shard text', async (t) => {
  t.same(parseShard('2/4'), { index: 2, count: 4 })
  for (const bad of ['0/4', '5/4', '1/0', '2', 'a/b', '1/2/3']) t.equal(parseShard(bad), undefined, bad)
})

t.test('labels select and exclude; skip labels skip', async (t) => {
  const cases = [fake('a', ['slow']), fake('b', ['network']), fake('c'), fake('d', ['slow', 'network'])]
  const names = (s: Parameters<typeof selectCases>[1]): string[] => selectCases(cases, s).map((c) => c.name)
  t.same(names({ labels: ['slow', 'network'] }), ['a', 'b', 'd'], 'any of the labels')
  t.same(names({ excludeLabels: ['slow'] }), ['b', 'c'])
  t.same(names({ labels: ['network'], excludeLabels: ['slow'] }), ['b'])
  t.same(names({ labels: ['network'], shard: { index: 2, count: 2 } }), ['d'], 'the shard splits the selection')
  t.equal(skipReason(fake('s', ['skip']), { accel: 'kvm' }), 'labelled skip')
  t.match(skipReason(fake('k', ['needs-kvm']), { accel: 'tcg' }), /needs-kvm/)
  t.equal(skipReason(fake('k', ['needs-kvm']), { accel: 'kvm' }), undefined)
})

t.test('a formats file makes one case for each format; a bad one is named', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'keel-cases-formats-'))
  const at = (p: string, text: string): void => {
    mkdirSync(join(root, p, '..'), { recursive: true })
    writeFileSync(join(root, p), text)
  }
  at('cases/f/test.yml', 'kernel: {}\n')
  at('cases/f/expect', 'hello\n')
  at('cases/f/formats', 'iso-efi\nqcow2-bios # a comment\n')
  const cases = await discoverCases(['cases'], root)
  t.same(cases.map((c) => [c.name, c.format]), [['cases/f:iso-efi', 'iso-efi'], ['cases/f:qcow2-bios', 'qcow2-bios']])
  at('cases/f/formats', 'iso-efi docker\n')
  await t.rejects(discoverCases(['cases'], root), { name: 'UserError', message: /cases\/f\/formats: docker is an image for docker load, not something to boot/ })
})
