// Reading the host for tap and bridge networking, so that what QEMU would do
// quietly (make a new tap device) or report darkly ("bridge helper failed")
// is refused first with a message naming the fix. The decisions are pure
// (checkHostNetworking in options.ts); this file only reads /proc, /sys,
// bridge.conf and the helper's privileges.
import { readFile, stat } from 'node:fs/promises'
import { userInfo } from 'node:os'
import { createRealRunner, findOnPath } from '../exec/index.js'
import { checkHostNetworking, defaultBridge, hasNetAdmin, parseBridgeAcl, type BridgeAclRule, type HostNetFacts, type Networking } from './options.js'

const bridgeConf = '/etc/qemu/bridge.conf'
const bridgeHelper = '/usr/lib/qemu/qemu-bridge-helper'

/** What checkHostNetworking needs to know: our credentials, the device, and for a bridge the helper's ACL and privileges. */
export async function readHostNetFacts(n: Networking): Promise<HostNetFacts> {
  const status = await readFile('/proc/self/status', 'utf8').catch(() => '')
  const netAdmin = hasNetAdmin(/^CapEff:\s*(\S+)/m.exec(status)?.[1] ?? '0')
  const user = ((): string | undefined => { try { return userInfo().username } catch { return undefined } })()
  const facts: HostNetFacts = { uid: process.geteuid?.() ?? 0, ...(user === undefined ? {} : { user }), gids: [process.getegid?.() ?? 0, ...(process.getgroups?.() ?? [])], netAdmin }
  const name = n.mode === 'tap' ? n.ifname : n.mode === 'bridge' ? n.bridge ?? defaultBridge : undefined
  if (name !== undefined) {
    const dir = `/sys/class/net/${name}`
    if (await stat(dir).catch(() => undefined)) {
      const read = async (file: string): Promise<string | undefined> => (await readFile(`${dir}/${file}`, 'utf8').catch(() => undefined))?.trim()
      const tunFlags = await read('tun_flags')
      const owner = await read('owner')
      const group = await read('group')
      const carrier = await read('carrier') // unreadable while the device is down
      facts.device = {
        isBridge: (await stat(`${dir}/bridge`).catch(() => undefined))?.isDirectory() === true,
        ...(tunFlags === undefined ? {} : { tunFlags: parseInt(tunFlags, 16) }),
        ...(owner === undefined ? {} : { owner: Number(owner) }),
        ...(group === undefined ? {} : { group: Number(group) }),
        ...(carrier === undefined ? {} : { carrier: carrier === '1' }),
      }
    }
  }
  if (n.mode === 'bridge') {
    const acl = await readBridgeAcl(bridgeConf)
    if (acl !== undefined) facts.bridgeAcl = acl
    if (!netAdmin) {
      facts.helperPath = bridgeHelper
      const privileged = await isHelperPrivileged(bridgeHelper)
      if (privileged !== undefined) facts.helperPrivileged = privileged
    }
  }
  return facts
}

/** bridge.conf with its includes read in place (an include that cannot be read is skipped, as the helper does); undefined when unreadable. */
async function readBridgeAcl(file: string): Promise<HostNetFacts['bridgeAcl']> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? { file, missing: true } : undefined
  }
  const top = parseBridgeAcl(text, file)
  if (top.problem !== undefined) return { file, problem: top.problem }
  const expand = async (rules: BridgeAclRule[], depth: number): Promise<BridgeAclRule[]> => {
    const out: BridgeAclRule[] = []
    for (const r of rules) {
      if (r.kind !== 'include') out.push(r)
      else if (depth < 8) {
        const included = await readFile(r.path, 'utf8').catch(() => undefined)
        if (included !== undefined) out.push(...await expand(parseBridgeAcl(included, r.path).rules, depth + 1))
      }
    }
    return out
  }
  return { file, rules: await expand(top.rules, 0) }
}

/** Can the bridge helper make tap devices for a user without privileges: setuid root, or CAP_NET_ADMIN as a file capability? undefined: cannot tell. */
async function isHelperPrivileged(path: string): Promise<boolean | undefined> {
  const st = await stat(path).catch(() => undefined)
  if (st === undefined) return undefined
  if (st.uid === 0 && (st.mode & 0o4000) !== 0) return true
  // getcap (libcap2-bin) lives in /usr/sbin, often not on a user's PATH.
  const getcap = findOnPath('getcap') ?? findOnPath('getcap', '/usr/sbin:/sbin')
  if (getcap === undefined) return undefined
  try {
    return /cap_net_admin/.test((await createRealRunner().run(getcap, [path])).stdout)
  } catch {
    return undefined
  }
}

/** For tap and bridge networking: throws a UserError when the host is not set up for it (nothing to do for user and none). */
export async function checkNetworkingOnHost(n: Networking): Promise<void> {
  if (n.mode === 'tap' || n.mode === 'bridge') checkHostNetworking(n, await readHostNetFacts(n))
}
