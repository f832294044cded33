import t from 'tap'
import { crc32c } from './crc32c.js'

t.test('CRC-32C check value and the iSCSI (RFC 3720 B.4) vectors', async (t) => {
  t.equal(crc32c('123456789'), 0xe3069283)
  t.equal(crc32c(''), 0)
  t.equal(crc32c(Buffer.alloc(32)), 0x8a9136aa, '32 zero bytes')
  t.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43, '32 0xff bytes')
  t.equal(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i))), 0x46dd794e, 'ascending')
  t.equal(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i))), 0x113fdb5c, 'descending')
})

t.test('CRC-32C continues over pieces', async (t) => {
  t.equal(crc32c('6789', crc32c('12345')), 0xe3069283)
})
