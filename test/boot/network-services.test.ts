// End to end: examples/webserver.yml, and with it the packages it uses
// (services/sysctl, rngd, dhcpcd, ntpd, lighttpd) and services/poweroff.
// One boot: a test-only manifest merged after the example adds a service
// that reports what the others did (kernel settings, eth0's lease,
// resolv.conf, which daemons run) and the poweroff package to end it. The
// page is fetched from the host through `keel run qemu --publish` while the
// guest runs. NTP servers cannot be reached from here, so for ntpd the test
// checks only that chronyd starts and stays up.
import t from 'tap'
import { get } from 'node:http'
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConsoleMatcher } from '../../pkg/run/index.js'
import { bootAndWatch, keel, repoRoot } from '../helpers/keel-cli.js'
import { freePort } from '../helpers/net.js'

const work = mkdtempSync(join(tmpdir(), 'keel-network-services-'))
t.teardown(() => rmSync(work, { recursive: true, force: true }))

/** A TCP port free on 127.0.0.1 right now. */

interface Page { status: number; body: string }

/** GET url, retried every second until it answers or `tries` run out. */
async function fetchPage(url: string, tries: number): Promise<Page | Error> {
  let last: Error = new Error('not tried')
  for (let i = 0; i < tries; i++) {
    try {
      return await new Promise<Page>((resolve, reject) => {
        const req = get(url, { timeout: 5000 }, (res) => {
          let body = ''
          res.on('data', (d: Buffer) => { body += d.toString() })
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
        })
        req.on('timeout', () => req.destroy(new Error('timed out')))
        req.on('error', reject)
      })
    } catch (err) {
      last = err as Error
      await new Promise((r) => setTimeout(r, 1000))
    }
  }
  return last
}

// Added to the example: a reporter and the poweroff package (30 s after it
// starts; the host fetches the page meanwhile). 95-bad.conf holds a key no
// kernel has: sysctl must warn about it and go on.
const checks = `
services:
  - name: check
    image: "@pkg:${repoRoot}images/busybox"
    pid: host
    binds:
      - /run/resolvconf:/run/resolvconf
    keel:
      restart: never
    command:
      - /bin/sh
      - -c
      - |
        sleep 3
        for k in net/core/somaxconn kernel/unprivileged_bpf_disabled kernel/kptr_restrict vm/max_map_count fs/file-max; do
          echo "sysctl $k=$(cat /proc/sys/$k)"
        done
        echo "eth0 $(ip -4 -o addr show dev eth0 | awk '{print $4}'); $(ip route show default)"
        echo "resolv.conf: $(grep nameserver /run/resolvconf/resolv.conf)"
        for p in chronyd rngd lighttpd; do pidof $p >/dev/null && echo "$p is running" || echo "$p is not running"; done
  - name: poweroff
    image: "@pkg:${repoRoot}services/poweroff"
    command: ["/bin/sh", "/poweroff.sh", "30"]
files:
  - path: etc/sysctl.d/95-bad.conf
    contents: "no.such.key = 1\\n"
    mode: "0644"
`

t.test('examples/webserver.yml with sysctl, rngd, dhcpcd, ntpd and poweroff', async (t) => {
  const example = await keel(['build', '-o', work, 'examples/webserver.yml'])
  t.equal(example.code, 0, `the example builds as it is\n${example.stderr}`)
  t.comment(`webserver-initrd.img: ${(statSync(join(work, 'webserver-initrd.img')).size / 1048576).toFixed(1)} MiB`)

  const extra = join(work, 'checks.yml')
  writeFileSync(extra, checks)
  const build = await keel(['build', '-o', work, '-n', 'web', 'examples/webserver.yml', extra])
  t.equal(build.code, 0, `keel build succeeds with the checks added\n${build.stderr}`)

  const port = await freePort()
  let page: Promise<Page | Error> | undefined
  let missing: Promise<Page | Error> | undefined
  const b = await bootAndWatch(join(work, 'web'), [
    'sysctl: /etc/sysctl.d/00-linuxkit.conf: 25 set',
    'sysctl: /host/etc/sysctl.d/90-web.conf: 1 set',
    'sysctl: warning: /host/etc/sysctl.d/95-bad.conf:1: no such setting: no.such.key',
    'sysctl: 26 settings applied, 1 failed',
    /onboot sysctl done \(exit 0\)/,
    /rngd1: rngd: entropy pool full \(\d+ bits\), exiting as oneshot/,
    /onboot rngd1 done \(exit 0\)/,
    'dhcpcd: dhcpcd: eth0: leased 10.0.2.15/24 via 10.0.2.2, dns 10.0.2.3',
    /onboot dhcpcd done \(exit 0\)/,
    'reboot: Power down',
  ], {
    timeoutMs: 240_000,
    args: ['--mem', '512', '--publish', `127.0.0.1:${port}:80`],
    onStart: (child) => {
      let seen = ''
      child.stdout!.on('data', (d: Buffer) => {
        seen = (seen + d.toString()).slice(-4096)
        if (page || !/web: .*server started/.test(seen)) return
        page = fetchPage(`http://127.0.0.1:${port}/`, 20)
        missing = page.then(() => fetchPage(`http://127.0.0.1:${port}/missing.html`, 3))
      })
    },
  })
  if (!b.ok) t.comment(`console:\n${b.console}\nstderr:\n${b.stderr}`)
  t.ok(b.ok, `onboot: sysctl, rngd -1, dhcpcd -1 in order, then a clean power-off${b.missing ? `; never saw: ${b.missing}` : ''}`)
  t.equal(b.code, 0, 'keel run exits 0 after the power-off')

  // The services start in parallel; each report line on its own.
  for (const line of [
    'check: sysctl net/core/somaxconn=4096',
    'check: sysctl kernel/unprivileged_bpf_disabled=1',
    'check: sysctl kernel/kptr_restrict=2',
    'check: sysctl vm/max_map_count=262144',
    'check: sysctl fs/file-max=524288',
    'check: eth0 10.0.2.15/24; default via 10.0.2.2 dev eth0',
    'check: resolv.conf: nameserver 10.0.2.3',
    'check: chronyd is running',
    'check: rngd is running',
    'check: lighttpd is running',
    'poweroff: poweroff: powering off after 30 s',
  ]) t.ok(b.console.includes(line), line)
  t.match(b.console, /ntpd: \S+ chronyd version 4\.\d+ starting/, 'chronyd starts')
  t.notMatch(b.console, /service ntpd exited/, 'and is never restarted')
  t.notMatch(b.console, /service rngd exited|service web exited/, 'rngd and lighttpd stay up')
  t.match(b.console, /received SIGUSR2: power off/, 'poweroff asked init for a clean shutdown')

  t.ok(page, 'lighttpd started, so the page was fetched')
  const p = await page
  t.notOk(p instanceof Error, `GET / answered (${p instanceof Error ? p.message : p?.status})`)
  if (p && !(p instanceof Error)) {
    t.equal(p.status, 200, 'GET / is 200')
    t.match(p.body, /Hello from a keel web server\./, 'the page from the manifest\'s files:')
  }
  // Negative controls: a page that is not there is a 404, and the console
  // matcher fails on a line that never came.
  const m = await missing
  t.ok(m && !(m instanceof Error) && m.status === 404, 'GET /missing.html is 404')
  const control = new ConsoleMatcher(['sysctl: 26 settings applied, 0 failed'])
  control.push(`${b.console}\n`)
  control.end()
  t.equal(control.result().ok, false, 'the matcher can fail')
})
