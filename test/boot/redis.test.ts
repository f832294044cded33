// End to end: examples/redis.yml. The example, with the poweroff package
// merged in to end the boot, is booted with `keel run qemu --publish`, and
// the host talks to redis-server over plain TCP: PING must answer +PONG,
// a SET is read back with GET.
import t from 'tap'
import { connect } from 'node:net'
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bootAndWatch, keel, repoRoot } from '../helpers/keel-cli.js'
import { freePort } from '../helpers/net.js'

const work = mkdtempSync(join(tmpdir(), 'keel-redis-'))
t.teardown(() => rmSync(work, { recursive: true, force: true }))


/** Sends `request` (RESP inline commands) and collects the reply until `until` matches or 5 s pass. */
function talk(port: number, request: string, until: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1')
    let reply = ''
    const done = (err?: Error): void => { s.destroy(); if (err) reject(err); else resolve(reply) }
    s.setTimeout(5000, () => done(new Error(`no reply in 5 s (got ${JSON.stringify(reply)})`)))
    s.on('connect', () => s.write(request))
    s.on('data', (d: Buffer) => { reply += d.toString(); if (until.test(reply)) done() })
    s.on('error', done)
    s.on('close', () => done(until.test(reply) ? undefined : new Error(`closed after ${JSON.stringify(reply)}`)))
  })
}

/** talk(), retried every second: slirp accepts connections before the guest listens. */
async function talkRetry(port: number, request: string, until: RegExp, tries: number): Promise<string | Error> {
  let last = new Error('not tried')
  for (let i = 0; i < tries; i++) {
    try { return await talk(port, request, until) } catch (err) { last = err as Error }
    await new Promise((r) => setTimeout(r, 1000))
  }
  return last
}

const poweroff = `
services:
  - name: poweroff
    image: "@pkg:${repoRoot}services/poweroff"
    command: ["/bin/sh", "/poweroff.sh", "30"]
`

t.test('examples/redis.yml answers PING through --publish', async (t) => {
  const example = await keel(['build', '-o', work, 'examples/redis.yml'])
  t.equal(example.code, 0, `the example builds as it is\n${example.stderr}`)
  t.comment(`redis-initrd.img: ${(statSync(join(work, 'redis-initrd.img')).size / 1048576).toFixed(1)} MiB`)
  const extra = join(work, 'poweroff.yml')
  writeFileSync(extra, poweroff)
  const build = await keel(['build', '-o', work, '-n', 'redis-test', 'examples/redis.yml', extra])
  t.equal(build.code, 0, `keel build succeeds with poweroff added\n${build.stderr}`)

  const port = await freePort()
  let replies: Promise<Array<string | Error>> | undefined
  const b = await bootAndWatch(join(work, 'redis-test'), [
    'dhcpcd: dhcpcd: eth0: leased 10.0.2.15/24',
    /service redis started/,
    /redis: .*Ready to accept connections/,
    'reboot: Power down',
  ], {
    timeoutMs: 240_000,
    args: ['--mem', '512', '--publish', `127.0.0.1:${port}:6379`],
    onStart: (child) => {
      let seen = ''
      child.stdout!.on('data', (d: Buffer) => {
        seen = (seen + d.toString()).slice(-4096)
        if (replies || !/Ready to accept connections/.test(seen)) return
        replies = (async () => [
          await talkRetry(port, 'PING\r\n', /\r\n/, 10),
          await talkRetry(port, 'SET keel works\r\nGET keel\r\n', /\$5\r\nworks\r\n/, 3),
          await talkRetry(port, 'NOSUCHCOMMAND\r\n', /\r\n/, 3),
        ])()
      })
    },
  })
  if (!b.ok) t.comment(`console:\n${b.console}\nstderr:\n${b.stderr}`)
  t.ok(b.ok, `redis starts, then a clean power-off${b.missing ? `; never saw: ${b.missing}` : ''}`)
  t.notMatch(b.console, /can't set maximum open files/, 'the label\'s nofile limit is enough for redis')
  t.ok(replies, 'redis said it was ready, so the host talked to it')
  const [ping, setGet, bad] = (await replies) ?? []
  t.equal(ping, '+PONG\r\n', 'PING answers +PONG')
  t.equal(setGet, '+OK\r\n$5\r\nworks\r\n', 'SET then GET reads the value back')
  // Negative control: the same check on an unknown command's reply fails.
  t.not(bad, '+PONG\r\n', 'an unknown command does not answer +PONG')
  t.match(String(bad), /^-ERR unknown command/, 'it is an error reply')
})
