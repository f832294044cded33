import t from 'tap'
import { UserError } from '../errors/index.js'
import {
  checkHostNetworking, checkPublished, hasNetAdmin, isBridgeAllowed, parseBridgeAcl, parseFwCfg, formatHostForward, generateMac, parseByteSize, parseDiskSpec, parseMac, parseNetworking, parsePublish,
  type HostNetFacts, type Networking,
} from './options.js'

t.test('networking modes, with and without a name', async (t) => {
  t.same(parseNetworking('user'), { mode: 'user' })
  t.same(parseNetworking('default'), { mode: 'user' }, "LinuxKit's 'default' is user")
  t.same(parseNetworking('none'), { mode: 'none' })
  t.same(parseNetworking('tap'), { mode: 'tap' })
  t.same(parseNetworking('tap,tap0'), { mode: 'tap', ifname: 'tap0' })
  t.same(parseNetworking('bridge'), { mode: 'bridge' })
  t.same(parseNetworking('bridge,br-lan'), { mode: 'bridge', bridge: 'br-lan' })
})

t.test('bad networking specs are refused and named', async (t) => {
  t.throws(() => parseNetworking('vde'), /--networking vde: unknown mode "vde"; use user, tap\[,IFNAME\], bridge\[,BRIDGE\] or none/)
  t.throws(() => parseNetworking('user,eth0'), /user networking takes no name/)
  t.throws(() => parseNetworking('tap,a,b'), /too many parts/)
  t.throws(() => parseNetworking('tap,'), /"" is not a valid tap interface name/)
  t.throws(() => parseNetworking('bridge,this-name-is-too-long'), /not a valid bridge name/)
  t.throws(() => parseNetworking('tap,x y'), /not a valid tap interface name/)
})

t.test('published ports: 127.0.0.1 unless an address is given; tcp unless udp', async (t) => {
  t.same(parsePublish('8080:80'), { hostAddress: '127.0.0.1', hostPort: 8080, guestPort: 80, protocol: 'tcp' })
  t.same(parsePublish('5353:53/udp'), { hostAddress: '127.0.0.1', hostPort: 5353, guestPort: 53, protocol: 'udp' })
  t.same(parsePublish('0.0.0.0:2222:22/tcp'), { hostAddress: '0.0.0.0', hostPort: 2222, guestPort: 22, protocol: 'tcp' })
  t.equal(formatHostForward(parsePublish('8080:80')), 'hostfwd=tcp:127.0.0.1:8080-:80')
  t.equal(formatHostForward(parsePublish('192.168.1.5:53:53/udp')), 'hostfwd=udp:192.168.1.5:53-:53')
})

t.test('bad published ports are refused and named', async (t) => {
  t.throws(() => parsePublish('70000:80'), /--publish 70000:80: the host port 70000 is out of range \(1 to 65535\)/)
  t.throws(() => parsePublish('8080:0'), /the guest port 0 is out of range/)
  t.throws(() => parsePublish('8080'), /give \[IP:\]HOST_PORT:GUEST_PORT/)
  t.throws(() => parsePublish('a:b:c:d'), /give \[IP:\]HOST_PORT:GUEST_PORT/)
  t.throws(() => parsePublish('http:80'), /the host port "http" is not a number/)
  t.throws(() => parsePublish('8080:80/sctp'), /the protocol must be tcp or udp, not "sctp"/)
  t.throws(() => parsePublish('300.1.1.1:8080:80'), /"300.1.1.1" is not an IPv4 address/)
  t.throws(() => parsePublish('localhost:8080:80'), /"localhost" is not an IPv4 address/)
})

t.test('publishing needs user networking, and a port once', async (t) => {
  const p = [parsePublish('8080:80')]
  t.doesNotThrow(() => checkPublished({ mode: 'user' }, p))
  t.doesNotThrow(() => checkPublished({ mode: 'none' }, []))
  for (const mode of ['tap', 'bridge', 'none'] as const) {
    t.throws(() => checkPublished({ mode }, p), new RegExp(`--publish needs user networking; --networking is ${mode}`))
  }
  t.throws(() => checkPublished({ mode: 'user' }, [...p, parsePublish('8080:81')]), /127.0.0.1:8080\/tcp is published twice/)
  t.doesNotThrow(() => checkPublished({ mode: 'user' }, [...p, parsePublish('8080:81/udp')]), 'the same port over udp is another port')
})

t.test('MAC addresses are unicast and locally administered', async (t) => {
  t.equal(generateMac(Uint8Array.from([0xff, 1, 2, 3, 4, 5])), 'fe:01:02:03:04:05')
  t.equal(generateMac(Uint8Array.from([0x00, 0xaa, 0xbb, 0xcc, 0xdd, 0xee])), '02:aa:bb:cc:dd:ee')
  for (let i = 0; i < 20; i++) {
    const first = parseInt(generateMac().slice(0, 2), 16)
    t.equal(first & 3, 2, 'multicast bit clear, local bit set')
  }
  t.equal(parseMac('02:AA:bb:cc:dd:ee\n', 'f'), '02:aa:bb:cc:dd:ee')
  t.throws(() => parseMac('nonsense', 'STATE/mac-addr'), /STATE\/mac-addr: "nonsense" is not a MAC address/)
  t.throws(() => parseMac('03:00:00:00:00:00', 'f'), /multicast/)
})

t.test('disk specs: path, size and format in any order; no path means the state folder', async (t) => {
  t.same(parseDiskSpec('data.img'), { path: 'data.img' })
  t.same(parseDiskSpec('data.qcow2,size=2G,format=qcow2'), { path: 'data.qcow2', size: 2 * 1024 ** 3, format: 'qcow2' })
  t.same(parseDiskSpec('file=d.img,format=raw'), { path: 'd.img', format: 'raw' }, "LinuxKit's file=")
  t.same(parseDiskSpec('size=512M'), { size: 512 * 1024 ** 2 })
  t.throws(() => parseDiskSpec('d.img,size=lots'), /--disk d.img,size=lots: "lots" is not a size/)
  t.throws(() => parseDiskSpec('d.img,format=ext4'), /unknown format "ext4"/)
  t.throws(() => parseDiskSpec('d.img,cache=none'), /unknown key "cache"; use size= or format=/)
  t.throws(() => parseDiskSpec('d.img,e.img'), /"e.img" is not KEY=VALUE/)
  t.throws(() => parseDiskSpec('d.img,file=e.img'), /the path is given twice/)
  t.equal(parseByteSize('100K', 'x'), 102400)
  t.throws(() => parseByteSize('0', '--disk-size'), /--disk-size: size 0 is out of range/)
})

t.test('fw_cfg items: NAME=FILE, the name under opt/', async (t) => {
  t.same(parseFwCfg('opt/keel/userdata=u.json'), { name: 'opt/keel/userdata', file: 'u.json' })
  t.same(parseFwCfg('opt/x=a=b'), { name: 'opt/x', file: 'a=b' }, 'the first = splits')
  t.throws(() => parseFwCfg('opt/x'), /--fw-cfg opt\/x: give NAME=FILE/)
  t.throws(() => parseFwCfg('etc/x=f'), /the name must start with opt\//)
  t.throws(() => parseFwCfg('opt/a,b=f'), /the name must start with opt\//)
})

t.test("bridge.conf is read as qemu-bridge-helper reads it", async (t) => {
  const { rules, problem } = parseBridgeAcl('# bridges for VMs\n\nallow br0\n  allow\tkeelbr1  \ndeny br-lan\ninclude /etc/qemu/more.conf\n', 'bridge.conf')
  t.equal(problem, undefined)
  t.same(rules, [
    { kind: 'allow', name: 'br0' }, { kind: 'allow', name: 'keelbr1' }, { kind: 'deny', name: 'br-lan' }, { kind: 'include', path: '/etc/qemu/more.conf' },
  ])
  t.equal(isBridgeAllowed(rules, 'br0'), true)
  t.equal(isBridgeAllowed(rules, 'keelbr1'), true, 'tabs and trailing blanks are skipped')
  t.equal(isBridgeAllowed(rules, 'br1'), false, 'a bridge no rule names is denied')
  t.equal(isBridgeAllowed([{ kind: 'allow', name: 'all' }], 'anything'), true, 'allow all')
  t.equal(isBridgeAllowed([{ kind: 'allow', name: 'all' }, { kind: 'deny', name: 'br0' }], 'br0'), false, 'a deny wins over an allow, whatever the order')
  t.equal(isBridgeAllowed([{ kind: 'deny', name: 'all' }, { kind: 'allow', name: 'br0' }], 'br0'), false, 'deny all wins too')
  t.equal(isBridgeAllowed([], 'br0'), false, 'an empty file allows nothing')
})

t.test('a bad line in bridge.conf is named with its line; the rules before it are kept', async (t) => {
  const bad = parseBridgeAcl('allow br0\npermit br1\nallow br2\n', '/etc/qemu/bridge.conf')
  t.equal(bad.problem, '/etc/qemu/bridge.conf:2: unknown command "permit" (allow BRIDGE, deny BRIDGE or include FILE)')
  t.same(bad.rules, [{ kind: 'allow', name: 'br0' }])
  t.match(parseBridgeAcl('allow\n', 'b.conf').problem, /^b\.conf:1: "allow" is not a rule/)
})

t.test('CAP_NET_ADMIN is bit 12 of CapEff', async (t) => {
  t.equal(hasNetAdmin('000001ffffffffff'), true, 'root')
  t.equal(hasNetAdmin('0000000000001000'), true, 'only CAP_NET_ADMIN')
  t.equal(hasNetAdmin('0000000000000000'), false, 'an ordinary user')
  t.equal(hasNetAdmin('0000000000000800'), false, 'CAP_NET_BIND_SERVICE (bit 10) and nothing else')
  t.equal(hasNetAdmin('junk'), false)
})

t.test('the host is checked before QEMU starts, and each refusal names the fix', async (t) => {
  const root: HostNetFacts = { uid: 0, user: 'root', gids: [0], netAdmin: true }
  const alice: HostNetFacts = { uid: 1000, user: 'alice', gids: [1000, 27], netAdmin: false }
  const tap = { tunFlags: 0x1802, owner: -1, group: -1, isBridge: false, carrier: false }
  const bridge = { isBridge: true }
  const allowed = { file: '/etc/qemu/bridge.conf', rules: [{ kind: 'allow' as const, name: 'keelbr0' }] }
  const ok: Array<[string, Networking, HostNetFacts]> = [
    ['root, a tap device', { mode: 'tap', ifname: 'keeltap0' }, { ...root, device: tap }],
    ['root, no name: QEMU makes the device', { mode: 'tap' }, root],
    ['a user, a tap device with no owner', { mode: 'tap', ifname: 'keeltap0' }, { ...alice, device: tap }],
    ['a user, their own tap device', { mode: 'tap', ifname: 'keeltap0' }, { ...alice, device: { ...tap, owner: 1000 } }],
    ['a user, a tap device of one of their groups', { mode: 'tap', ifname: 'keeltap0' }, { ...alice, device: { ...tap, group: 27 } }],
    ['a multi-queue tap device in use', { mode: 'tap', ifname: 'keeltap0' }, { ...root, device: { ...tap, tunFlags: 0x1902, carrier: true } }],
    ['root, an allowed bridge', { mode: 'bridge', bridge: 'keelbr0' }, { ...root, device: bridge, bridgeAcl: allowed }],
    ['a user, an allowed bridge, a setuid helper', { mode: 'bridge', bridge: 'keelbr0' }, { ...alice, device: bridge, bridgeAcl: allowed, helperPrivileged: true }],
    ['an unreadable bridge.conf is left to the helper', { mode: 'bridge', bridge: 'keelbr0' }, { ...root, device: bridge }],
    ['user networking needs nothing', { mode: 'user' }, alice],
  ]
  for (const [what, n, f] of ok) t.doesNotThrow(() => checkHostNetworking(n, f), what)
  const bad: Array<[string, Networking, HostNetFacts, RegExp, RegExp]> = [
    ['a user, no name', { mode: 'tap' }, alice, /--networking tap: without a device name QEMU makes a new tap device, which needs root/, /ip tuntap add dev keeltap0 mode tap user alice/],
    ['no such tap device', { mode: 'tap', ifname: 'keeltap0' }, root, /--networking tap,keeltap0: there is no network device keeltap0/, /ip tuntap add dev keeltap0 mode tap user root && ip link set keeltap0 up/],
    ['an ethernet card', { mode: 'tap', ifname: 'eth0' }, { ...root, device: { isBridge: false } }, /eth0 is not a tap device$/, /name a tap device, or make one/],
    ['a bridge as a tap', { mode: 'tap', ifname: 'br0' }, { ...root, device: bridge }, /br0 is not a tap device but a bridge/, /use --networking bridge,br0/],
    ['a tun device', { mode: 'tap', ifname: 'tun0' }, { ...root, device: { ...tap, tunFlags: 0x1001 } }, /tun0 is a tun device \(layer 3\), not a tap device/, /ip tuntap del dev tun0 mode tun/],
    ['a tap device in use', { mode: 'tap', ifname: 'keeltap0' }, { ...root, device: { ...tap, carrier: true } }, /keeltap0 is in use: another program \(another QEMU\?\) has it open/, /make another tap device/],
    ["someone else's tap device", { mode: 'tap', ifname: 'keeltap0' }, { ...alice, device: { ...tap, owner: 0 } }, /keeltap0 belongs to user 0, and keel runs as user alice without CAP_NET_ADMIN/, /mode tap user alice/],
    ["another group's tap device", { mode: 'tap', ifname: 'keeltap0' }, { ...alice, device: { ...tap, group: 0 } }, /keeltap0 belongs to group 0/, /run keel as root/],
    ['no such bridge (the default)', { mode: 'bridge' }, root, /--networking bridge: there is no bridge br0/, /ip link add br0 type bridge && ip link set br0 up/],
    ['a tap device as a bridge', { mode: 'bridge', bridge: 'keeltap0' }, { ...root, device: tap }, /keeltap0 is not a bridge but a tun or tap device/, /use --networking tap,keeltap0/],
    ['no bridge.conf', { mode: 'bridge', bridge: 'keelbr0' }, { ...root, device: bridge, bridgeAcl: { file: '/etc/qemu/bridge.conf', missing: true } }, /allows no bridge: \/etc\/qemu\/bridge.conf does not exist/, /mkdir -p \/etc\/qemu && echo 'allow keelbr0' >> \/etc\/qemu\/bridge.conf/],
    ['a bridge bridge.conf does not allow', { mode: 'bridge', bridge: 'br9' }, { ...root, device: bridge, bridgeAcl: allowed }, /\/etc\/qemu\/bridge.conf does not allow the bridge br9/, /echo 'allow br9' >> \/etc\/qemu\/bridge.conf/],
    ['a bad bridge.conf', { mode: 'bridge', bridge: 'keelbr0' }, { ...root, device: bridge, bridgeAcl: { file: '/etc/qemu/bridge.conf', problem: '/etc/qemu/bridge.conf:3: unknown command "permit"' } }, /cannot read \/etc\/qemu\/bridge.conf: \/etc\/qemu\/bridge.conf:3: unknown command "permit"/, /fix that line/],
    ['a user, a helper without privileges', { mode: 'bridge', bridge: 'keelbr0' }, { ...alice, device: bridge, bridgeAcl: allowed, helperPrivileged: false, helperPath: '/usr/lib/qemu/qemu-bridge-helper' }, /helper \/usr\/lib\/qemu\/qemu-bridge-helper cannot make a tap device for user alice/, /chmod u\+s \/usr\/lib\/qemu\/qemu-bridge-helper/],
  ]
  for (const [what, n, f, message, hint] of bad) {
    let err: unknown
    try {
      checkHostNetworking(n, f)
    } catch (e) {
      err = e
    }
    t.ok(err instanceof UserError, `${what}: a UserError`)
    t.match((err as UserError | undefined)?.message, message, `${what}: says what is wrong`)
    t.match((err as UserError | undefined)?.hint, hint, `${what}: names the fix`)
  }
})
