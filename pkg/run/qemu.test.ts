// Stopping a QEMU: a real one, with no machine (so the power button does
// nothing) — the paths where keel has to kill it, and where it is gone.
import t from 'tap'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { stopQemu, waitForExit } from './qemu.js'

t.test('a QEMU that ignores the power button is killed after the timeout', async (t) => {
  const dir = t.testdir({})
  const qmpSocket = join(dir, 'qmp.sock')
  const qemu = spawn('qemu-system-x86_64', ['-machine', 'none', '-display', 'none', '-nodefaults', '-qmp', 'unix:qmp.sock,server=on,wait=off'], { cwd: dir, stdio: 'ignore' })
  t.teardown(() => qemu.kill('SIGKILL'))
  for (let i = 0; i < 100 && !existsSync(qmpSocket); i++) await new Promise((r) => setTimeout(r, 50))
  const started = Date.now()
  const r = await stopQemu({ pid: qemu.pid!, qmpSocket, timeoutMs: 1000 })
  t.same(r, { how: 'killed' }, 'the button was pressed (no error), then QEMU killed')
  t.ok(Date.now() - started >= 1000, 'after the timeout')
  t.ok(await waitForExit(qemu.pid!, 2000), 'and it is gone')
  t.same(await stopQemu({ pid: qemu.pid!, qmpSocket, timeoutMs: 1000 }), { how: 'gone' }, 'stopping it again: gone')
})

t.test('no QMP socket: the failure is reported and QEMU killed anyway', async (t) => {
  const qemu = spawn('qemu-system-x86_64', ['-machine', 'none', '-display', 'none', '-nodefaults'], { stdio: 'ignore' })
  t.teardown(() => qemu.kill('SIGKILL'))
  await new Promise((r) => setTimeout(r, 200))
  const r = await stopQemu({ pid: qemu.pid!, qmpSocket: join(t.testdir({}), 'none.sock'), timeoutMs: 1000 })
  t.equal(r.how, 'killed')
  t.match(r.buttonError, /cannot connect/)
  t.ok(await waitForExit(qemu.pid!, 2000))
})
