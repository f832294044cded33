import t from 'tap'
import { spawn } from 'node:child_process'
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createRealRunner, createRecordingRunner, findOnPath, formatCommand, processAlive, requireTools } from './index.js'

t.test('the real runner captures output and reports failures with the stderr tail', async (t) => {
  const r = createRealRunner()
  t.same(await r.run('sh', ['-c', 'echo out; echo err >&2']), { stdout: 'out\n', stderr: 'err\n', exitCode: 0 })
  await t.rejects(r.run('sh', ['-c', 'echo boom >&2; exit 3']), { name: 'ToolError', exitCode: 3, stderrTail: 'boom', message: /exited with 3/ })
  await t.rejects(r.run('/no/such/tool', []), { name: 'ToolError', message: /\/no\/such\/tool/ })
  await t.rejects(r.run('sleep', ['5'], { timeoutMs: 100 }), /timed out after 100 ms/)
})

t.test('stdout to a file is not held in memory, however large', async (t) => {
  const dir = t.testdir({})
  const out = join(dir, 'big')
  await createRealRunner().run('head', ['-c', String(300 * 1024 * 1024), '/dev/zero'], { stdoutFile: out })
  t.equal(statSync(out).size, 300 * 1024 * 1024)
})

t.test('stdin from a file and from input', async (t) => {
  const dir = t.testdir({ in: 'abc' })
  const r = createRealRunner()
  t.equal((await r.run('cat', [], { stdinFile: join(dir, 'in') })).stdout, 'abc')
  t.equal((await r.run('cat', [], { input: 'xyz' })).stdout, 'xyz')
  await r.run('cat', [], { input: 'to file', stdoutFile: join(dir, 'o') })
  t.equal(readFileSync(join(dir, 'o'), 'utf8'), 'to file')
})

t.test('the recording runner records, and with no inner runner does nothing (dry run)', async (t) => {
  const rec = createRecordingRunner()
  t.same(await rec.run('rm', ['-rf', '/'], { cwd: '/tmp' }), { stdout: '', stderr: '', exitCode: 0 })
  t.same(rec.commands, [{ command: 'rm', args: ['-rf', '/'], cwd: '/tmp' }])
  const through = createRecordingRunner(createRealRunner())
  t.equal((await through.run('echo', ['x'])).stdout, 'x\n')
  t.equal(through.commands.length, 1)
})

t.test('missing tools are named with the Debian package to install', async (t) => {
  t.ok(findOnPath('sh'))
  t.equal(findOnPath('surely-not-a-tool-here'), undefined)
  t.doesNotThrow(() => requireTools([{ command: 'sh', debianPackage: 'dash' }]))
  t.throws(() => requireTools([{ command: 'nope-a', debianPackage: 'pkg-a' }, { command: 'nope-b', debianPackage: 'pkg-a' }]),
    { name: 'UserError', message: 'missing tools: nope-a, nope-b', hint: /apt-get install -y pkg-a / })
  // data files (firmware, boot code) need only be readable, not executable
  const data = join(t.testdir(), 'firmware.fd')
  writeFileSync(data, 'x', { mode: 0o644 })
  t.doesNotThrow(() => requireTools([{ command: data, debianPackage: 'ovmf', file: true }]))
  t.throws(() => requireTools([{ command: data, debianPackage: 'ovmf' }]), { message: `missing tool: ${data}` })
  t.throws(() => requireTools([{ command: '/no/such/OVMF.fd', debianPackage: 'ovmf', file: true }]), { message: 'missing tool: /no/such/OVMF.fd' })
  t.equal(formatCommand('echo', ['a b', "it's", 'plain']), `echo 'a b' 'it'\\''s' plain`)
})

t.test('processAlive: this process runs; an ended child is gone, reaped or not', async (t) => {
  t.ok(processAlive(process.pid))
  const child = spawn('sh', ['-c', 'exit 0'])
  const pid = child.pid!
  // Unreaped for a moment: node reaps it when it sees SIGCHLD, after this loop.
  const until = Date.now() + 5000
  while (Date.now() < until && !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) { /* wait for it to end */ }
  t.notOk(processAlive(pid), 'a zombie is gone')
  await new Promise((resolve) => child.on('exit', resolve))
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.notOk(processAlive(pid), 'reaped: gone')
})
