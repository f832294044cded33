import t from 'tap'
import { checkPublished, parseFwCfg, formatHostForward, generateMac, parseByteSize, parseDiskSpec, parseMac, parseNetworking, parsePublish } from './options.js'

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
