// End to end: a machine boots over the network from `keel serve`.
// examples/minimal.yml is built, served on a free loopback port, and QEMU
// boots with no disk from its virtio NIC's iPXE ROM (Debian's ipxe-qemu):
// QEMU's user network hands iPXE the script URL as the DHCP boot file, with
// the guest's 10.0.2.2 reaching the host's loopback. It boots twice, with
// SeaBIOS and with OVMF (UEFI). The console must show iPXE fetching the
// script, the kernel and the initrd, then the image greeting and powering off. Bad inputs are checked on the real command.
import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConsoleMatcher } from '../../pkg/run/index.js'
import { keel, keelBin, repoRoot } from '../helpers/keel-cli.js'

const out = mkdtempSync(join(tmpdir(), 'keel-serve-'))
t.teardown(() => rmSync(out, { recursive: true, force: true }))
const prefix = join(out, 'minimal')
const BOOT_MS = 240_000
// A build, then two network boots under TCG (about 30 s with BIOS and 50 s
// with UEFI on an idle machine): more than tap's default on a loaded one.
t.setTimeout(600_000)

/** `keel serve` under setpriv, so it dies with this test; resolves with it and its first stdout line. */
function startServe(args: string[]): Promise<{ child: ChildProcess; firstLine: string; stderr: () => string; exited: Promise<number | null> }> {
  return new Promise((done, fail) => {
    const child = spawn('setpriv', ['--pdeathsig', 'KILL', process.execPath, keelBin, 'serve', ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString() })
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString()
      if (stdout.includes('\n')) done({ child, firstLine: stdout.split('\n')[0]!, stderr: () => stderr, exited })
    })
    child.on('error', fail)
    void exited.then((code) => fail(new Error(`keel serve exited ${code} before printing its URL:\n${stderr}`)))
  })
}

/** One request line sent byte for byte (no client-side normalising of "..") ; the status line back. */
function rawStatus(port: number, path: string): Promise<string> {
  return new Promise((done, fail) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`))
    let text = ''
    socket.on('data', (d: Buffer) => { text += d.toString('latin1') })
    socket.on('end', () => done(text.split('\r\n')[0]!))
    socket.on('error', fail)
  })
}

/** QEMU booting from its NIC only, the console on stdout, killed at the deadline. */
function bootFromNetwork(bootfile: string, expect: readonly (string | RegExp)[], firmwareArgs: string[] = []): Promise<{ ok: boolean; missing: string | undefined; console: string; timedOut: boolean; code: number | null }> {
  return new Promise((done, fail) => {
    const matcher = new ConsoleMatcher(expect)
    const qemu = spawn('setpriv', ['--pdeathsig', 'KILL', 'qemu-system-x86_64',
      // graphics=off: SeaBIOS, and the iPXE ROM through it, print on the serial console.
      '-machine', 'q35,graphics=off', '-accel', 'tcg', '-m', '512', '-nodefaults', '-no-user-config',
      '-display', 'none', '-serial', 'stdio', '-no-reboot', '-boot', 'n', ...firmwareArgs,
      '-nic', `user,model=virtio-net-pci,bootfile=${bootfile}`,
    ], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    let timedOut = false
    qemu.stdout!.on('data', (d: Buffer) => matcher.push(d))
    qemu.stderr!.on('data', (d: Buffer) => { stderr += d.toString() })
    const timer = setTimeout(() => { timedOut = true; qemu.kill('SIGKILL') }, BOOT_MS)
    qemu.on('error', fail)
    qemu.on('close', (code) => {
      clearTimeout(timer)
      matcher.end()
      const r = matcher.result()
      done({ ok: r.ok, missing: r.missing, console: `${matcher.transcript}\n${stderr}`, timedOut, code })
    })
  })
}

t.test('build examples/minimal.yml once', async (t) => {
  const build = await keel(['build', '-o', out, 'examples/minimal.yml'])
  t.equal(build.code, 0, `keel build succeeds\n${build.stderr}`)
})

t.test('machines boot the image over HTTP from their iPXE ROM, with BIOS and with UEFI', async (t) => {
  t.ok(existsSync('/usr/lib/ipxe/qemu/efi-virtio.rom'), "QEMU's iPXE ROM for virtio-net is installed (ipxe-qemu)")
  const serve = await startServe(['--listen', '127.0.0.1:0', '--cmdline-append', 'keel.served=1', prefix])
  t.teardown(() => { serve.child.kill('SIGKILL') })
  const m = /^http:\/\/127\.0\.0\.1:([0-9]+)\/ipxe$/.exec(serve.firstLine)
  t.ok(m, `prints the script URL: ${serve.firstLine}`)
  const port = Number(m![1])

  t.equal(await rawStatus(port, '/../etc/passwd'), 'HTTP/1.1 404 Not Found', 'no path traversal: /../etc/passwd is 404')
  t.equal(await rawStatus(port, '/minimal/../../etc/passwd'), 'HTTP/1.1 404 Not Found', '/minimal/../../etc/passwd is 404')

  const base = `http://10.0.2.2:${port}`
  const fetched = [
    `Filename: ${base}/ipxe`,
    `${base}/ipxe... ok`,
    `keel: booting minimal from ${base}/minimal`,
    `${base}/minimal/initrd.img... ok`,
  ]
  const booted = ['hello from an onboot container', 'hello from a service', 'reboot: Power down']
  let biosConsole = ''

  await t.test('BIOS (SeaBIOS, the ROM\'s PXE side)', async (t) => {
    const expected = [...fetched, 'Command line: initrd=initrd.img console=ttyS0 keel.served=1', ...booted]
    const boot = await bootFromNetwork(`${base}/ipxe`, expected)
    if (!boot.ok) t.comment(`console:\n${boot.console}\nkeel serve:\n${serve.stderr()}`)
    t.ok(boot.ok, `every expected line came${boot.missing ? `; never saw: ${boot.missing}` : ''}`)
    t.equal(boot.timedOut, false, 'the guest powered off by itself')
    t.equal(boot.code, 0, 'QEMU exits 0')
    biosConsole = boot.console
  })

  await t.test('UEFI (OVMF, the ROM\'s EFI side): the EFI stub finds the initrd by its initrd= name', async (t) => {
    const vars = join(out, 'OVMF_VARS.fd')
    copyFileSync('/usr/share/OVMF/OVMF_VARS_4M.fd', vars)
    const expected = [...fetched, /EFI stub: Loaded initrd/, 'initrd=initrd.img console=ttyS0 keel.served=1', ...booted]
    const boot = await bootFromNetwork(`${base}/ipxe`, expected, [
      '-drive', 'if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd',
      '-drive', `if=pflash,format=raw,file=${vars}`,
    ])
    if (!boot.ok) t.comment(`console:\n${boot.console}\nkeel serve:\n${serve.stderr()}`)
    t.ok(boot.ok, `every expected line came${boot.missing ? `; never saw: ${boot.missing}` : ''}`)
    t.equal(boot.timedOut, false, 'the guest powered off by itself')
    t.equal(boot.code, 0, 'QEMU exits 0')
  })

  const log = serve.stderr()
  t.match(log, /GET \/ipxe 200 \d+ bytes/, 'the server logged the script requests')
  t.match(log, `GET /minimal/kernel 200 ${statSync(`${prefix}-kernel`).size} bytes`, 'and the whole kernel')
  t.match(log, `GET /minimal/initrd.img 200 ${statSync(`${prefix}-initrd.img`).size} bytes`, 'and the whole initrd')
  t.match(log, 'GET /../etc/passwd 404', 'and the refused request')

  serve.child.kill('SIGINT')
  t.equal(await serve.exited, 0, 'Ctrl-C stops keel serve cleanly')
  t.match(serve.stderr(), 'stopping on SIGINT')

  // Negative control: the BIOS console, checked for a line it never showed, must fail.
  const control = new ConsoleMatcher([fetched[0]!, 'a line this image never prints'])
  control.push(`${biosConsole}\n`)
  control.end()
  t.equal(control.result().ok, false, 'the check can fail')
  t.equal(control.result().missing, 'a line this image never prints')
})

t.test('bad inputs are clear errors', async (t) => {
  const missing = await keel(['serve', join(out, 'nothing')])
  t.equal(missing.code, 1)
  t.match(missing.stderr, `keel: error: ${join(out, 'nothing')}: ${join(out, 'nothing-kernel')} not found`, 'a missing file is named')

  const blocker = createServer()
  await new Promise<void>((done) => blocker.listen(0, '127.0.0.1', () => done()))
  const port = (blocker.address() as { port: number }).port
  const busy = await keel(['serve', '--listen', `127.0.0.1:${port}`, prefix])
  await new Promise<void>((done) => blocker.close(() => done()))
  t.equal(busy.code, 1)
  t.match(busy.stderr, `keel: error: cannot listen on 127.0.0.1:${port}: 127.0.0.1:${port} is already in use`, 'a port in use says so')

  const badListen = await keel(['serve', '--listen', 'everywhere', prefix])
  t.equal(badListen.code, 1)
  t.match(badListen.stderr, '--listen "everywhere" is not ADDR:PORT')

  const none = await keel(['serve'])
  t.equal(none.code, 2, 'no image is a usage error')
  t.match(none.stderr, 'give at least one image PREFIX')

  const help = await keel(['serve', '--help'])
  t.equal(help.code, 0)
  t.match(help.stdout, 'usage: keel serve')
})
