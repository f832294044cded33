// End to end: examples/metadata.yml (services/metadata) is built once and
// booted with `keel run qemu`: with LinuxKit-format JSON user data on a
// cidata CD (--data-file), with plain text (--data), with no user data at
// all, and with an OpenStack config drive on a FAT disk (--disk). The console must show metadata finding the CD and
// writing each file, and the example's service listing the files under
// /run/config with their modes, sizes and texts. QEMU's fw_cfg provider
// has no keel run flag; its unit tests use a made-up sysfs.
import t, { type Test } from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConsoleMatcher } from '../../pkg/run/index.js'
import { bootAndWatch, keel, type BootResult } from '../helpers/keel-cli.js'

const work = mkdtempSync(join(tmpdir(), 'keel-metadata-'))
t.teardown(() => rmSync(work, { recursive: true, force: true }))
const BOOT_MS = 120_000
const prefix = join(work, 'metadata')

const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeelMetadataTestKey keel@test'
const userData = {
  greeting: { content: 'hello from user data' },
  hostname: { content: 'meta-host' },
  ssh: { entries: { authorized_keys: { perm: '0600', content: `${key}\n` } } },
}

function boot(args: string[], expect: readonly (string | RegExp)[]): Promise<BootResult> {
  return bootAndWatch(prefix, expect, { timeoutMs: BOOT_MS, args: ['--mem', '512', ...args] })
}

function report(t: Test, b: BootResult, what: string): void {
  if (!b.ok) t.comment(`console:\n${b.console}\nstderr:\n${b.stderr}`)
  t.ok(b.ok, `${what}${b.missing ? `; never saw: ${b.missing}` : ''}`)
  t.equal(b.code, 0, 'keel run exits 0 after a clean power-off')
}

t.test('examples/metadata.yml', async (t) => {
  const build = await keel(['build', '-o', work, 'examples/metadata.yml'])
  t.equal(build.code, 0, `keel build succeeds\n${build.stderr}`)

  const file = join(work, 'user-data.json')
  const json = JSON.stringify(userData)
  writeFileSync(file, json)
  const withJson = await boot(['--data-file', file], [
    'metadata: cdrom: trying /dev/sr0 (iso9660 labelled "cidata")',
    `metadata: user data from CDROM /dev/sr0 (${json.length} bytes)`,
    `metadata: wrote /run/config/ssh/authorized_keys (${key.length + 1} bytes, mode 0600)`,
    "metadata: user data is LinuxKit's JSON format: 3 files, 1 folders written, 0 entries skipped",
    'metadata: hostname set to meta-host',
    'greeter: user data from CDROM /dev/sr0',
    'greeter: -rw-r--r-- 20 /run/config/greeting',
    'greeter:   hello from user data',
    'greeter: -rw-r--r-- 9 /run/config/hostname',
    `greeter: -rw------- ${key.length + 1} /run/config/ssh/authorized_keys`,
    `greeter:   ${key}`,
    `greeter: -rw-r--r-- ${json.length} /run/config/userdata`,
    'greeter: greeting: hello from user data',
    'greeter: hostname: meta-host',
    'reboot: Power down',
  ])
  report(t, withJson, 'JSON user data: each entry is a file with its mode, and the hostname is set')

  const text = 'hello in plain text'
  const plain = await boot(['--data', text], [
    `metadata: user data from CDROM /dev/sr0 (${text.length} bytes)`,
    `metadata: the user data is not JSON (at byte 0: expected a value, found 'h'): kept only as /run/config/userdata`,
    'greeter: user data from CDROM /dev/sr0',
    `greeter: -rw-r--r-- ${text.length} /run/config/userdata`,
    'greeter: hostname: keel',
    'reboot: Power down',
  ])
  report(t, plain, 'plain-text user data is kept as /run/config/userdata only')
  t.notMatch(plain.console, /greeter: .* \/run\/config\/(greeting|ssh)/, 'no files from the earlier boot: /run is fresh each boot')

  const none = await boot([], [
    'metadata: cdrom: no CD-ROM and no disk labelled cidata or config-2',
    'metadata: no user data found; nothing written to /run/config',
    /\[init [\d.]+\] onboot metadata done \(exit 0\)/,
    'greeter: no user data',
    'reboot: Power down',
  ])
  report(t, none, 'no user data: metadata says so, and the boot goes on')

  // Negative control: the boot without data, checked for the JSON boot's lines.
  const control = new ConsoleMatcher(['greeter: user data from CDROM /dev/sr0', `greeter:   ${key}`])
  control.push(`${none.console}\n`)
  control.end()
  t.equal(control.result().ok, false, 'the check can fail')
  t.equal(control.result().missing, 'greeter: user data from CDROM /dev/sr0')

  const tools = ['mkfs.fat', 'mcopy'].filter((tool) => spawnSync(tool, ['--help']).error)
  t.test('an OpenStack config drive on a FAT disk', { skip: tools.length > 0 ? `not installed here: ${tools.join(', ')}` : false }, async (t) => {
    const disk = join(work, 'config-drive.img')
    const script = '#!/bin/sh\necho hi\n'
    const keys = { mine: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIConfigDriveKey one@test', other: 'ssh-rsa AAAAB3NzaC1yc2EAAAADConfigDriveKey two@test' }
    const meta = JSON.stringify({ uuid: 'd0b5c1e4', hostname: 'drive-host', public_keys: keys })
    writeFileSync(join(work, 'user_data'), script)
    writeFileSync(join(work, 'meta_data.json'), meta)
    const steps: string[][] = [
      ['truncate', '-s', '8M', disk],
      ['mkfs.fat', '-n', 'CONFIG-2', disk],
      ['mmd', '-i', disk, '::openstack', '::openstack/latest'],
      ['mcopy', '-i', disk, join(work, 'user_data'), join(work, 'meta_data.json'), '::openstack/latest/'],
    ]
    for (const [cmd, ...args] of steps) {
      const r = spawnSync(cmd!, args, { encoding: 'utf8' })
      t.equal(r.status, 0, `${cmd} ${args.join(' ')}\n${r.stderr}`)
    }
    const authorized = `${keys.mine}\n${keys.other}\n`
    const b = await boot(['--disk', `${disk},format=raw`], [
      'metadata: cdrom: trying /dev/vda (vfat labelled "CONFIG-2")',
      'metadata: wrote /run/config/hostname (10 bytes)',
      `metadata: wrote /run/config/ssh/authorized_keys (${authorized.length} bytes)`,
      `metadata: user data from CDROM /dev/vda (${script.length} bytes)`,
      "metadata: the user data is not JSON (at byte 0: expected a value, found '#'): kept only as /run/config/userdata",
      'metadata: hostname set to drive-host',
      `greeter: -rw------- ${authorized.length} /run/config/ssh/authorized_keys`,
      `greeter:   ${keys.mine}`,
      `greeter:   ${keys.other}`,
      'greeter: hostname: drive-host',
      'reboot: Power down',
    ])
    report(t, b, 'the config drive gives the user data, the hostname and the public keys')
  })
})
