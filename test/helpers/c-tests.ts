// For the tests of keel's C programs (images/init, services/*): whether a
// binary is static, and the counts of the TAP their unit tests print.

/** A static ELF has no program interpreter (PT_INTERP) and no dynamic section (PT_DYNAMIC). */
export function isStaticElf(buf: Buffer): boolean {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2) return false
  const phoff = Number(buf.readBigUInt64LE(0x20))
  const phentsize = buf.readUInt16LE(0x36)
  const phnum = buf.readUInt16LE(0x38)
  for (let i = 0; i < phnum; i++) {
    const type = buf.readUInt32LE(phoff + i * phentsize)
    if (type === 2 /* PT_DYNAMIC */ || type === 3 /* PT_INTERP */) return false
  }
  return true
}

export interface Tap { plan: number | undefined; ok: number; notOk: string[] }

/** The plan, the passing points and the failing lines of a TAP stream. */
export function parseTap(out: string): Tap {
  const result: Tap = { plan: undefined, ok: 0, notOk: [] }
  for (const line of out.split('\n')) {
    const plan = /^1\.\.(\d+)$/.exec(line)
    if (plan) result.plan = Number(plan[1])
    else if (/^ok \d+/.test(line)) result.ok++
    else if (/^not ok \d+/.test(line)) result.notOk.push(line)
  }
  return result
}
