import t from 'tap'
import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { defaultStateDir, openStateDir, readOrCreateMac, runningQemuPid } from './state.js'

t.test('NAME-state beside the image, NAME without the format suffix', async (t) => {
  t.equal(defaultStateDir({ kind: 'kernel+initrd', kernel: '/o/web-kernel', initrd: '/o/web-initrd.img', cmdline: '' }), '/o/web-state')
  t.equal(defaultStateDir({ kind: 'iso', path: '/o/web-efi.iso', uefi: true }), '/o/web-state')
  t.equal(defaultStateDir({ kind: 'disk', path: '/o/web.qcow2', format: 'qcow2', uefi: false }), '/o/web-state')
})

t.test('the MAC address is made once and kept', async (t) => {
  const dir = t.testdir({ file: 'x' })
  const state = await openStateDir(join(dir, 'a', 'b-state'))
  const mac = await readOrCreateMac(state)
  t.match(mac, /^[0-9a-f][26ae](:[0-9a-f]{2}){5}$/)
  t.equal(await readOrCreateMac(state), mac, 'the same on the next run')
  t.equal(readFileSync(state.macFile, 'utf8'), `${mac}\n`)
  writeFileSync(state.macFile, 'garbage')
  await t.rejects(readOrCreateMac(state), /mac-addr: "garbage" is not a MAC address/)
  await t.rejects(openStateDir(join(dir, 'file')), /--state .*file: not a folder/)
})

t.test('a pid file counts only while its process is a QEMU', async (t) => {
  const state = await openStateDir(t.testdir({}))
  t.equal(await runningQemuPid(state), undefined, 'no pid file')
  writeFileSync(state.pidFile, `${process.pid}\n`)
  t.equal(await runningQemuPid(state), undefined, 'a live process that is not QEMU')
  const qemu = spawn('qemu-system-x86_64', ['-machine', 'none', '-display', 'none', '-nodefaults'], { stdio: 'ignore' })
  t.teardown(() => qemu.kill('SIGKILL'))
  writeFileSync(state.pidFile, `${qemu.pid}\n`)
  t.equal(await runningQemuPid(state), qemu.pid, 'a live QEMU')
  qemu.kill('SIGKILL')
  await new Promise((r) => qemu.once('exit', r))
  t.equal(await runningQemuPid(state), undefined, 'gone')
})
