// End to end: `keel run qemu --networking tap|bridge|none` on the host's real
// network. Needs root, /dev/net/tun and ip(8) (CI has them; elsewhere the
// file is skipped, saying why). It makes its own tap device and bridge, each
// with the host's side on a private /24 no route of the host touches,
// allows the bridge in /etc/qemu/bridge.conf, and takes all of it away
// again afterwards, whatever happened.
//
// One image (test/fixtures/networking) is built once and booted once per
// mode, the addresses given on its kernel command line:
//  - tap and bridge: the guest sets its address, the host GETs the guest's
//    web server (host -> guest), the guest GETs a web server the test runs
//    on the host's address, which answers the guest's address only, and
//    prints what it got (guest -> host); then SIGINT powers it off;
//  - none: the guest has no eth0, and the same guest -> host check fails.
// Negative controls: an address on the link that nobody has does not
// answer; the none boot shows the guest -> host check can fail; the tap
// boot's console shows the "no network card" check can fail.
// Before booting: a missing tap device, a tap device in use, a bridge
// bridge.conf does not allow, and (as user nobody) a tap device of another
// user or a new tap device without CAP_NET_ADMIN are refused by keel with a
// message naming the fix, before QEMU starts.
import t, { type Test } from 'tap'
import { spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, rmdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { get, createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isBridgeAllowed, parseBridgeAcl } from '../../pkg/run/index.js'
import { bootAndWatch, keel, keelBin, type BootResult } from '../helpers/keel-cli.js'

const BOOT_MS = 200_000
const bridgeConfDir = '/etc/qemu'
const bridgeConf = `${bridgeConfDir}/bridge.conf`

/** Why this host cannot run these boots, or undefined when it can. */
function whyNot(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (to make tap devices and bridges)'
  if (!existsSync('/dev/net/tun')) return 'needs /dev/net/tun'
  if (spawnSync('ip', ['-V']).status !== 0) return 'needs ip(8) (iproute2)'
  return undefined
}

/** Runs ip(8); throws with its stderr when it fails. */
function ip(...args: string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`)
  return r.stdout
}

const toNumber = (addr: string): number => addr.split('.').reduce((n, o) => n * 256 + Number(o), 0)

/** Private /24s (192.168.X.0) that no address or route of the host touches. */
function freeSubnets(count: number): string[] {
  const used: Array<[number, number]> = [] // [first, last] address of each route and address
  const words = [...ip('-4', '-o', 'addr', 'show').matchAll(/inet (\S+)/g)].map((m) => m[1]!)
    .concat(ip('-4', 'route', 'show', 'table', 'all').split('\n').map((l) => l.split(' ')[0] === 'local' || l.split(' ')[0] === 'broadcast' ? l.split(' ')[1] ?? '' : l.split(' ')[0] ?? ''))
  for (const w of words) {
    const m = /^(\d+\.\d+\.\d+\.\d+)(?:\/(\d+))?$/.exec(w)
    if (!m) continue // default, blank lines
    const bits = Number(m[2] ?? 32)
    const size = 2 ** (32 - bits)
    const first = Math.floor(toNumber(m[1]!) / size) * size
    used.push([first, first + size - 1])
  }
  const out: string[] = []
  for (let x = 213; x < 250 && out.length < count; x++) {
    const first = toNumber(`192.168.${x}.0`)
    if (!used.some(([a, b]) => a <= first + 255 && first <= b)) out.push(`192.168.${x}`)
  }
  if (out.length < count) throw new Error('no free 192.168.X.0/24 on this host')
  return out
}

/** GET http://HOST:PORT/ → the body, or "error: CODE". */
function httpGet(host: string, port: number, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve) => {
    const req = get({ host, port, path: '/', timeout: timeoutMs }, (res) => {
      let body = ''
      res.on('data', (d: Buffer) => { body += d.toString() })
      res.on('end', () => resolve(body))
    })
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })))
    req.on('error', (e: NodeJS.ErrnoException) => resolve(`error: ${e.code ?? e.message}`))
  })
}

/** A web server on the host's side of the link that answers `token` to the guest's address only. */
async function hostServer(address: string, guest: string, token: string): Promise<{ server: Server; port: number; peers: string[] }> {
  const peers: string[] = []
  const server = createServer((req, res) => {
    const peer = req.socket.remoteAddress ?? ''
    peers.push(peer)
    res.writeHead(peer === guest ? 200 : 403).end(peer === guest ? token : 'not the guest\n')
  })
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, address, resolve) })
  return { server, port: (server.address() as { port: number }).port, peers }
}

function report(t: Test, b: BootResult, what: string): void {
  if (!b.ok) t.comment(`console:\n${b.console}\nstderr:\n${b.stderr}`)
  t.ok(b.ok, `${what}${b.missing ? `; never saw: ${b.missing}` : ''}`)
}

const skip = whyNot()
if (skip !== undefined) {
  t.plan(0, skip)
} else {
  const work = mkdtempSync(join(tmpdir(), 'keel-networking-'))
  t.teardown(() => rmSync(work, { recursive: true, force: true }))
  const built = join(work, 'networking')
  const suffix = process.pid % 100000
  const tapName = `keeltap${suffix}`
  const brName = `keelbr${suffix}`
  const [tapNet, brNet] = freeSubnets(2) as [string, string]
  const state = (mode: string): string => join(work, `${mode}-state`)

  /** A boot prefix for `mode`: the built kernel and initrd, with keel.test.net on the command line. */
  const prefixFor = (mode: string, net: string | undefined): string => {
    const prefix = join(work, mode)
    symlinkSync(`${built}-kernel`, `${prefix}-kernel`)
    symlinkSync(`${built}-initrd.img`, `${prefix}-initrd.img`)
    const cmdline = readFileSync(`${built}-cmdline`, 'utf8').trim()
    writeFileSync(`${prefix}-cmdline`, net === undefined ? cmdline : `${cmdline} keel.test.net=${net}`)
    return prefix
  }

  /**
   * Boots with `--networking spec`, the guest at NET.2 and the host at NET.1:
   * checks both directions, then powers off with SIGINT. `whileUp` runs once
   * both directions have been tried, while the guest still runs.
   */
  const bootLinked = async (t: Test, mode: string, spec: string, net: string, whileUp?: () => Promise<void>): Promise<BootResult> => {
    const guest = `${net}.2`
    const token = `keel-host-ok-${mode}-${process.pid}`
    const host = await hostServer(`${net}.1`, guest, token)
    t.teardown(() => { host.server.close() })
    const prefix = prefixFor(mode, `${guest}/24,${net}.1,${host.port}`)
    const checks: { guest?: string; nobody?: string } = {}
    const b = await bootAndWatch(prefix, [`net: interfaces: eth0 lo`, `net: eth0 ${guest}/24`, 'all services started', `reach: host said: ${token}`, 'power button pressed: power off', 'reboot: Power down'], {
      timeoutMs: BOOT_MS,
      args: ['--mem', '256', '--networking', spec, '--state', state(mode)],
      onStart: (child: ChildProcess) => {
        let seen = ''
        let started = false
        child.stdout!.on('data', (d: Buffer) => {
          seen += d.toString()
          if (started || !seen.includes('web: listening')) return
          started = true
          void (async () => {
            for (let i = 0; i < 20 && checks.guest !== 'keel-guest-ok\n'; i++) {
              checks.guest = await httpGet(guest, 8080)
              if (checks.guest !== 'keel-guest-ok\n') await new Promise((r) => setTimeout(r, 500))
            }
            checks.nobody = await httpGet(`${net}.3`, 8080, 4000)
            for (let i = 0; i < 60 && !seen.includes('reach: host'); i++) await new Promise((r) => setTimeout(r, 500))
            await whileUp?.()
            child.kill('SIGINT')
          })()
        })
      },
    })
    report(t, b, `boots with --networking ${spec}, reaches the host, powers off`)
    t.equal(checks.guest, 'keel-guest-ok\n', `host -> guest: the guest's web server answers at ${guest}:8080`)
    t.match(checks.nobody, /^error: /, `negative control: nobody answers at ${net}.3 (${checks.nobody})`)
    t.match(b.console, `reach: host said: ${token}`, `guest -> host: the guest got the host's answer from ${net}.1`)
    t.ok(host.peers.includes(guest), `the host's server saw the guest's address (${host.peers.join(', ')})`)
    const mac = readFileSync(join(state(mode), 'mac-addr'), 'utf8').trim()
    t.match(b.console, `net: eth0 ${guest}/24 mac ${mac}`, "the guest's card has the state folder's MAC address")
    t.equal(b.code, 0, 'keel run exits 0 after the clean power-off')
    return b
  }

  t.test('the fixture image builds', async (t) => {
    const build = await keel(['build', '-o', work, 'test/fixtures/networking/networking.yml'])
    t.equal(build.code, 0, `keel build succeeds\n${build.stderr}`)
  })

  t.test('keel refuses host devices QEMU could not use, before QEMU starts', async (t) => {
    if (!existsSync(`${built}-kernel`)) return t.plan(0, 'the image did not build')
    const prefix = prefixFor('refused', undefined)
    const missing = `keelno${suffix}`
    const r = await keel(['run', 'qemu', '--networking', `tap,${missing}`, '--state', state('refused'), prefix])
    t.not(r.code, 0, 'non-zero exit')
    t.match(r.stderr, `--networking tap,${missing}: there is no network device ${missing}`, 'a tap device that does not exist')
    t.match(r.stderr, `ip tuntap add dev ${missing} mode tap`, 'the hint says how to make it')
    t.notOk(existsSync(`/sys/class/net/${missing}`), 'and QEMU made no device of that name (as root it would have)')
    const noBridge = await keel(['run', 'qemu', '--networking', `bridge,${missing}`, '--state', state('refused'), prefix])
    t.match(noBridge.stderr, `--networking bridge,${missing}: there is no bridge ${missing}`, 'a bridge that does not exist')
    const eth = await keel(['run', 'qemu', '--networking', 'tap,lo', '--state', state('refused'), prefix])
    t.match(eth.stderr, '--networking tap,lo: lo is not a tap device', 'a device that is not a tap device')
  })

  t.test('without root, keel says what QEMU would need', async (t) => {
    if (!existsSync(`${built}-kernel`)) return t.plan(0, 'the image did not build')
    // keel as nobody, with no capabilities: it must be able to read the repository.
    const asNobody = ['setpriv', '--reuid', '65534', '--regid', '65534', '--clear-groups', '--inh-caps=-all']
    if (spawnSync(asNobody[0]!, [...asNobody.slice(1), 'test', '-r', keelBin]).status !== 0) return t.plan(0, `user nobody cannot read ${keelBin}`)
    const rootTap = `keelown${suffix}`
    ip('tuntap', 'add', 'dev', rootTap, 'mode', 'tap', 'user', '0')
    t.teardown(() => { spawnSync('ip', ['link', 'del', rootTap]) })
    const run = (spec: string): string => spawnSync(asNobody[0]!, [...asNobody.slice(1), process.execPath, keelBin, 'run', 'qemu', '--networking', spec, join(work, 'refused')], { encoding: 'utf8' }).stderr
    t.match(run(`tap,${rootTap}`), `--networking tap,${rootTap}: ${rootTap} belongs to user 0, and keel runs as user nobody without CAP_NET_ADMIN`, "someone else's tap device")
    t.match(run('tap'), '--networking tap: without a device name QEMU makes a new tap device, which needs root (CAP_NET_ADMIN)', 'tap without a name')
  })

  t.test('tap: both ways over a tap device', async (t) => {
    if (!existsSync(`${built}-kernel`)) return t.plan(0, 'the image did not build')
    ip('tuntap', 'add', 'dev', tapName, 'mode', 'tap')
    t.teardown(() => { spawnSync('ip', ['link', 'del', tapName]) })
    ip('addr', 'add', `${tapNet}.1/24`, 'dev', tapName)
    ip('link', 'set', tapName, 'up')
    let inUse: { code: number | null; stderr: string } | undefined
    const b = await bootLinked(t, 'tap', `tap,${tapName}`, tapNet, async () => {
      inUse = await keel(['run', 'qemu', '--networking', `tap,${tapName}`, '--state', state('tap-second'), join(work, 'tap')])
    })
    t.not(inUse?.code, 0, 'a second machine on the same tap device is refused')
    t.match(inUse?.stderr, `${tapName} is in use: another program (another QEMU?) has it open`, 'saying the device is in use')
    t.notMatch(b.console, /net: interfaces: lo\r?\n/, 'negative control for none: with a card the guest has eth0')
  })

  t.test('bridge: both ways through a bridge, allowed in bridge.conf', async (t) => {
    if (!existsSync(`${built}-kernel`)) return t.plan(0, 'the image did not build')
    // bridge.conf: add "allow BRIDGE" unless the file allows it already;
    // afterwards remove exactly what was added (the line, or the file and
    // folder when there were none), never anything else.
    const original = existsSync(bridgeConf) ? readFileSync(bridgeConf, 'utf8') : undefined
    const acl = original === undefined ? undefined : parseBridgeAcl(original, bridgeConf)
    if (acl?.problem !== undefined) return t.plan(0, `QEMU's bridge helper cannot read ${bridgeConf} (${acl.problem}); not touching it`)
    const allowedAlready = acl !== undefined && isBridgeAllowed(acl.rules, brName)
    ip('link', 'add', brName, 'type', 'bridge')
    t.teardown(() => { spawnSync('ip', ['link', 'del', brName]) })
    ip('addr', 'add', `${brNet}.1/24`, 'dev', brName)
    ip('link', 'set', brName, 'up')
    if (!allowedAlready) {
      const refused = await keel(['run', 'qemu', '--networking', `bridge,${brName}`, '--state', state('bridge'), join(work, 'refused')])
      t.not(refused.code, 0, 'before bridge.conf allows the bridge, keel refuses it')
      t.match(refused.stderr, original === undefined ? `${bridgeConf} does not exist` : `${bridgeConf} does not allow the bridge ${brName}`, 'naming bridge.conf')
      t.match(refused.stderr, `echo 'allow ${brName}' >> ${bridgeConf}`, 'and says how to allow it')
      const line = `allow ${brName}\n`
      const written = `${original ?? ''}${original === undefined || original === '' || original.endsWith('\n') ? '' : '\n'}${line}`
      const madeDir = !existsSync(bridgeConfDir)
      if (madeDir) mkdirSync(bridgeConfDir)
      t.teardown(() => {
        if (original === undefined) {
          rmSync(bridgeConf, { force: true })
          try {
            if (madeDir) rmdirSync(bridgeConfDir)
          } catch {
            // someone else put a file there meanwhile: theirs to keep
          }
          return
        }
        // Unchanged since: the original bytes back; changed by someone else: only our line out.
        const now = readFileSync(bridgeConf, 'utf8')
        const at = now.lastIndexOf(line)
        if (now === written) writeFileSync(bridgeConf, original)
        else if (at !== -1) writeFileSync(bridgeConf, now.slice(0, at) + now.slice(at + line.length))
      })
      writeFileSync(bridgeConf, written)
    }
    await bootLinked(t, 'bridge', `bridge,${brName}`, brNet)
  })

  t.test('none: no network card, and the guest cannot reach the host', async (t) => {
    if (!existsSync(`${built}-kernel`)) return t.plan(0, 'the image did not build')
    // The same addresses as a linked boot, so the guest tries just as hard.
    const prefix = prefixFor('none', `${tapNet}.2/24,${tapNet}.1,8080`)
    const b = await bootAndWatch(prefix, ['net: interfaces: lo', 'net: no eth0', `reach: host ${tapNet}.1:8080 unreachable`, 'power button pressed: power off', 'reboot: Power down'], {
      timeoutMs: BOOT_MS,
      args: ['--mem', '256', '--networking', 'none', '--state', state('none')],
      onStart: (child) => {
        let seen = ''
        child.stdout!.on('data', (d: Buffer) => {
          if (seen === 'done') return
          seen += d.toString()
          if (!/reach: host \S+ unreachable/.test(seen)) return
          seen = 'done' // one SIGINT: a second one kills QEMU at once
          child.kill('SIGINT')
        })
      },
    })
    report(t, b, 'boots with --networking none: only lo, and the host unreachable (the guest -> host check can fail)')
    t.notMatch(b.console, /reach: host said/, 'the guest got no answer')
    t.notOk(existsSync(join(state('none'), 'mac-addr')), 'no MAC address is made for a machine without a card')
    t.equal(b.code, 0, `keel run exits 0 after the clean power-off${b.code === 0 ? '' : `\n${b.stderr}`}`)
  })
}
