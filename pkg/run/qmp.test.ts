// The QMP client against a real QEMU (no machine, no guest: starts in tens of milliseconds).
import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { QmpClient, QmpError } from './qmp.js'

async function startQemu(t: Test, dir: string): Promise<{ socket: string; exited: Promise<unknown> }> {
  const socket = join(dir, 'qmp.sock')
  const qemu = spawn('qemu-system-x86_64', ['-machine', 'none', '-display', 'none', '-nodefaults', '-qmp', 'unix:qmp.sock,server=on,wait=off'], { cwd: dir, stdio: 'ignore' })
  const exited = new Promise((r) => qemu.once('exit', r))
  t.teardown(() => qemu.kill('SIGKILL'))
  for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 50))
  return { socket, exited }
}

t.test('greeting, capabilities, commands, errors, events, and QEMU quitting', async (t) => {
  const { socket, exited } = await startQemu(t, t.testdir({}))
  const qmp = await QmpClient.connect(socket)
  t.match(qmp.greeting, { version: { qemu: { major: Number } } }, 'the greeting names QEMU\'s version')
  t.match(await qmp.execute('query-status'), { status: String }, 'a command gets its reply')
  const [a, b] = await Promise.all([qmp.execute('query-version'), qmp.execute('query-name')])
  t.match(a, { qemu: { major: Number } }, 'replies come back to the right caller, in order')
  t.same(b, {})
  await t.rejects(qmp.execute('no-such-command'), QmpError)
  await t.rejects(qmp.execute('no-such-command'), /QMP no-such-command: The command no-such-command has not been found \(CommandNotFound\)/)
  const stopped = qmp.waitForEvent('STOP', 5000)
  await qmp.execute('stop')
  t.match(await stopped, { event: 'STOP' }, 'events arrive')
  await t.rejects(qmp.waitForEvent('NEVER', 100), /no NEVER event within 100 ms/)
  const closed = qmp.whenClosed()
  await qmp.execute('quit')
  await closed
  await exited
  await t.rejects(qmp.execute('query-status'), /QMP query-status: the connection to QEMU is closed/, 'a command after QEMU is gone fails at once')
})

t.test('a socket path longer than Unix allows is reached through a short link', async (t) => {
  const dir = join(t.testdir({}), 'a-rather-long-folder-name-'.repeat(4))
  mkdirSync(dir)
  const { socket } = await startQemu(t, dir)
  t.ok(socket.length > 108, `${socket.length} bytes`)
  const qmp = await QmpClient.connect(socket)
  t.match(await qmp.execute('query-status'), { status: String })
  qmp.close()
})

t.test('no QEMU there: a clear error', async (t) => {
  await t.rejects(QmpClient.connect(join(t.testdir({}), 'none.sock'), 1000), /QMP: cannot connect to .*none\.sock: connect ENOENT/)
})
