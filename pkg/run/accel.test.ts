import t from 'tap'
import { chmodSync, existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { chooseAccel, probeKvm } from './accel.js'

// Stand-ins for QEMU: the probe only reads what the guest prints on its debug console.
function fakeQemu(dir: string, name: string, body: string): string {
  const path = join(dir, name)
  writeFileSync(path, `#!/bin/sh\n${body}\n`)
  chmodSync(path, 0o755)
  return path
}

const haveKvmNode = existsSync('/dev/kvm')

t.test('an asked-for accelerator is used without probing', async (t) => {
  t.same(await chooseAccel('tcg', { qemu: '/nonexistent' }), { accel: 'tcg', reason: 'asked for tcg' })
  t.same(await chooseAccel('kvm', { qemu: '/nonexistent' }), { accel: 'kvm', reason: 'asked for kvm' })
})

t.test('auto: KVM when the guest reaches its boot loader, TCG when it stalls or QEMU fails', { skip: !haveKvmNode && 'no /dev/kvm here' }, async (t) => {
  const dir = t.testdir({})
  const fast = fakeQemu(dir, 'fast', 'echo "SeaBIOS"; echo "Booting from Hard Disk..."; exec sleep 30')
  const stall = fakeQemu(dir, 'stall', 'echo "SeaBIOS"; exec sleep 30')
  const broken = fakeQemu(dir, 'broken', 'echo "could not access KVM kernel module" >&2; exit 1')
  const good = await chooseAccel('auto', { qemu: fast, timeoutMs: 3000 })
  t.equal(good.accel, 'kvm')
  const started = Date.now()
  const slow = await chooseAccel('auto', { qemu: stall, timeoutMs: 300 })
  t.equal(slow.accel, 'tcg', 'a guest that never gets there means TCG')
  t.match(slow.reason, /did not reach its boot loader within 300 ms/)
  t.ok(Date.now() - started < 3000, 'the stalled probe was cut off at its timeout')
  const failed = await chooseAccel('auto', { qemu: broken, timeoutMs: 3000 })
  t.equal(failed.accel, 'tcg')
  t.match(failed.reason, /could not access KVM kernel module/)
})

t.test('the answer is cached for this host boot', { skip: !haveKvmNode && 'no /dev/kvm here' }, async (t) => {
  const dir = t.testdir({})
  const stall = fakeQemu(dir, 'stall', 'exec sleep 30')
  const first = await probeKvm({ qemu: stall, timeoutMs: 200, cacheDir: dir })
  t.equal(first.usable, false)
  const fast = fakeQemu(dir, 'fast', 'echo "Booting from Hard Disk..."; exec sleep 30')
  const second = await probeKvm({ qemu: fast, timeoutMs: 3000, cacheDir: dir })
  t.equal(second.usable, false, 'the cached answer, not a new probe')
  t.match(second.reason, /cached for this boot/)
})
