#ifndef KEEL_INFLATE_H
#define KEEL_INFLATE_H

#include <stddef.h>

/* Decompresses a whole gzip file (RFC 1952: one member, DEFLATE as RFC 1951
 * describes it) held in memory. The result, *out (malloc'd, free it), is at
 * most `limit` bytes; its CRC-32 and length must match the trailer. Kernel
 * modules stored as .ko.gz are loaded through this (keel's init, and the
 * metadata package): the kernels keel boots cannot always decompress modules
 * themselves. 0, or -1 with the reason in why (whysize bytes). Needs nothing
 * else from common/, so keel's init builds it too. */
int gunzip_mem(const unsigned char *in, size_t len, size_t limit, unsigned char **out, size_t *outlen, char *why,
	       size_t whysize);

/* The CRC-32 of gzip and zip (reflected polynomial 0xEDB88320). */
unsigned crc32_update(unsigned crc, const unsigned char *p, size_t n);

#endif
