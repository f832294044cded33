import t from 'tap'
import { formatPurl, imagePurl, packagePurl, purlEncode, sourcePurl } from './purl.js'

const d = 'sha256:' + '0123456789abcdef'.repeat(4)

t.test('percent-encoding keeps only the unreserved set and the colon', async (t) => {
  t.equal(purlEncode('a-Z_0.9~:'), 'a-Z_0.9~:')
  t.equal(purlEncode('1.0+b1'), '1.0%2Bb1')
  t.equal(purlEncode('a/b c@d?e=f&g#h%'), 'a%2Fb%20c%40d%3Fe%3Df%26g%23h%25')
  t.equal(purlEncode("!'()*"), '%21%27%28%29%2A')
  t.equal(purlEncode('é'), '%C3%A9')
})

t.test('canonical forms from the purl-spec test suite', async (t) => {
  t.equal(formatPurl({ type: 'oci', name: 'debian', version: 'sha256:244fd47e07d10', qualifiers: { tag: 'latest', repository_url: 'docker.io/library/debian', arch: 'amd64' } }),
    'pkg:oci/debian@sha256:244fd47e07d10?arch=amd64&repository_url=docker.io%2Flibrary%2Fdebian&tag=latest')
  t.equal(formatPurl({ type: 'deb', namespace: 'debian', name: 'attr', version: '1:2.4.47-2+b1', qualifiers: { arch: 'amd64' } }),
    'pkg:deb/debian/attr@1:2.4.47-2%2Bb1?arch=amd64')
  t.equal(formatPurl({ type: 'deb', namespace: 'debian', name: 'curl', version: '7.50.3-1', qualifiers: { distro: 'jessie', arch: 'i386' } }),
    'pkg:deb/debian/curl@7.50.3-1?arch=i386&distro=jessie')
  t.equal(formatPurl({ type: 'apk', namespace: 'alpine', name: 'curl', version: '7.83.0-r0', qualifiers: { arch: 'x86', empty: '', none: undefined } }),
    'pkg:apk/alpine/curl@7.83.0-r0?arch=x86')
})

t.test('package purls', async (t) => {
  t.equal(packagePurl({ type: 'deb', name: 'libc6', version: '2.36-9+deb12u7', architecture: 'amd64', source: 'glibc' }),
    'pkg:deb/debian/libc6@2.36-9%2Bdeb12u7?arch=amd64')
  t.equal(packagePurl({ type: 'deb', name: 'libc6', version: '2.36-9', architecture: 'amd64', vendor: 'ubuntu', distro: 'ubuntu-24.04' }),
    'pkg:deb/ubuntu/libc6@2.36-9?arch=amd64&distro=ubuntu-24.04')
  t.equal(packagePurl({ type: 'apk', name: 'musl', version: '1.2.5-r0', architecture: 'x86_64' }),
    'pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64')
  t.equal(packagePurl({ type: 'deb', name: 'nover', version: '1' }), 'pkg:deb/debian/nover@1')
  t.equal(sourcePurl({ type: 'deb', name: 'libc6', version: '2.36-9+deb12u7', architecture: 'amd64', source: 'glibc' }),
    'pkg:deb/debian/glibc@2.36-9%2Bdeb12u7?arch=source')
  t.equal(sourcePurl({ type: 'deb', name: 'busybox-static', version: '1:1.35.0-4+b1', source: 'busybox', sourceVersion: '1:1.35.0-4' }),
    'pkg:deb/debian/busybox@1:1.35.0-4?arch=source')
  t.equal(sourcePurl({ type: 'deb', name: 'bash', version: '5.2', source: 'bash', sourceVersion: '5.2' }), undefined)
  t.equal(sourcePurl({ type: 'deb', name: 'bash', version: '5.2' }), undefined)
  t.equal(sourcePurl({ type: 'apk', name: 'busybox-binsh', version: '1', source: 'busybox' }), undefined)
})

t.test('image purls', async (t) => {
  t.equal(imagePurl('docker.io/keel/init:v1', d), `pkg:oci/init@${d}?repository_url=docker.io%2Fkeel%2Finit&tag=v1`)
  t.equal(imagePurl('alpine', d), `pkg:oci/alpine@${d}?repository_url=docker.io%2Flibrary%2Falpine&tag=latest`)
  t.equal(imagePurl(`ghcr.io/o/r/sub@${d}`, d), `pkg:oci/sub@${d}?repository_url=ghcr.io%2Fo%2Fr%2Fsub`)
  t.equal(imagePurl('localhost:5000/x/y:t', d), `pkg:oci/y@${d}?repository_url=localhost:5000%2Fx%2Fy&tag=t`)
  t.equal(imagePurl('localhost:5000/x/Y:t', d), `pkg:oci/y@${d}`, 'unparsable: named after the last component, lowercased')
  t.equal(imagePurl('Not A Ref/Thing:1', d), `pkg:oci/thing@${d}`)
  t.equal(imagePurl('', d), `pkg:oci/image@${d}`)
})
