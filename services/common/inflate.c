#include "inflate.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A small DEFLATE decoder. It runs at every boot on a few MiB of modules,
 * often under emulation, so codes of up to FASTBITS bits (nearly all of
 * them) are looked up in a table indexed by the next bits of input; longer
 * ones are decoded canonically one bit at a time (RFC 1951 3.2.2: per
 * length, the codes of that length are consecutive numbers). */

/* Where a failure is described: the caller's buffer. Self-contained on
 * purpose, so that keel's init and the service packages can both build it. */
struct why {
	char *buf;
	size_t size;
};

__attribute__((format(printf, 2, 3))) static int fail(struct why *w, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (w->size)
		vsnprintf(w->buf, w->size, fmt, ap);
	va_end(ap);
	return -1;
}

struct bits {
	const unsigned char *in;
	size_t len, pos;
	uint32_t buf;
	unsigned have;
	int truncated;
};

static unsigned take(struct bits *b, unsigned n)
{
	while (b->have < n) {
		if (b->pos >= b->len) {
			b->truncated = 1;
			return 0;
		}
		b->buf |= (uint32_t)b->in[b->pos++] << b->have;
		b->have += 8;
	}
	unsigned v = b->buf & ((1u << n) - 1);
	b->buf >>= n;
	b->have -= n;
	return v;
}

#define MAXBITS 15
#define NLITLEN 288
#define NDIST 30

#define FASTBITS 9

struct code {
	short per_len[MAXBITS + 1]; /* how many symbols have each code length */
	short sym[NLITLEN];	    /* symbols ordered by code, i.e. by (length, value) */
	/* By the next FASTBITS bits of input (first bit lowest): symbol << 4 |
	 * code length, or 0 when the code is longer (or unused). */
	unsigned short fast[1u << FASTBITS];
};

/* Builds a code from its symbols' lengths; -1 if the lengths describe more
 * codes than there are bit patterns. An incomplete code is allowed (one
 * distance code is legal); decoding an unused pattern then fails. */
static int code_build(struct code *c, const unsigned char *lens, unsigned n)
{
	short start[MAXBITS + 1];
	memset(c->per_len, 0, sizeof(c->per_len));
	for (unsigned s = 0; s < n; s++)
		c->per_len[lens[s]]++;
	int left = 1;
	for (unsigned l = 1; l <= MAXBITS; l++) {
		left = left * 2 - c->per_len[l];
		if (left < 0)
			return -1;
	}
	start[1] = 0;
	for (unsigned l = 1; l < MAXBITS; l++)
		start[l + 1] = (short)(start[l] + c->per_len[l]);
	for (unsigned s = 0; s < n; s++)
		if (lens[s])
			c->sym[start[lens[s]]++] = (short)s;

	/* Each short code fills every table slot whose low bits are its bits
	 * in stream order (the code's first bit is its most significant). */
	memset(c->fast, 0, sizeof(c->fast));
	unsigned next[MAXBITS + 2] = { 0 };
	for (unsigned l = 1, v = 0; l <= MAXBITS; l++) {
		v = (v + (unsigned)c->per_len[l - 1] * (l > 1)) << 1;
		next[l] = v;
	}
	for (unsigned s = 0; s < n; s++) {
		unsigned l = lens[s];
		if (!l)
			continue;
		unsigned v = next[l]++;
		if (l > FASTBITS)
			continue;
		unsigned rev = 0;
		for (unsigned k = 0; k < l; k++)
			rev |= ((v >> k) & 1u) << (l - 1 - k);
		for (unsigned fill = rev; fill < (1u << FASTBITS); fill += 1u << l)
			c->fast[fill] = (unsigned short)(s << 4 | l);
	}
	return 0;
}

/* The next symbol, or -1 for a pattern no symbol has (or no more input). */
static int code_decode(struct bits *b, const struct code *c)
{
	while (b->have < FASTBITS && b->pos < b->len) {
		b->buf |= (uint32_t)b->in[b->pos++] << b->have;
		b->have += 8;
	}
	if (b->have >= FASTBITS) {
		unsigned hit = c->fast[b->buf & ((1u << FASTBITS) - 1)];
		if (hit) {
			b->buf >>= hit & 15;
			b->have -= hit & 15;
			return (int)(hit >> 4);
		}
	}
	int value = 0, first = 0, index = 0;
	for (unsigned l = 1; l <= MAXBITS; l++) {
		value |= (int)take(b, 1);
		if (b->truncated)
			return -1;
		int count = c->per_len[l];
		if (value - first < count)
			return c->sym[index + value - first];
		index += count;
		first = (first + count) << 1;
		value <<= 1;
	}
	return -1;
}

struct out {
	unsigned char *p;
	size_t n, cap, limit;
};

static int out_grow(struct out *o, size_t more, struct why *e)
{
	if (more > o->limit - o->n)
		return fail(e, "gzip: the data is larger than %zu bytes", o->limit);
	if (o->n + more <= o->cap)
		return 0;
	size_t cap = o->cap ? o->cap : 65536;
	while (cap < o->n + more)
		cap *= 2;
	if (cap > o->limit)
		cap = o->limit;
	unsigned char *p = realloc(o->p, cap);
	if (!p)
		return fail(e, "gzip: %s", strerror(errno));
	o->p = p;
	o->cap = cap;
	return 0;
}

static inline int out_room(struct out *o, size_t more, struct why *e)
{
	return more <= o->cap - o->n ? 0 : out_grow(o, more, e);
}

static const short len_base[29] = { 3,	4,  5,	6,  7,	8,  9,	10, 11,	 13,  15,  17,	19,  23, 27,
				    31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258 };
static const unsigned char len_extra[29] = { 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
					     2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0 };
static const unsigned short dist_base[30] = { 1,    2,	  3,	4,    5,    7,	   9,	  13,	17,   25,
					      33,   49,	  65,	97,   129,  193,   257,	  385,	513,  769,
					      1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577 };
static const unsigned char dist_extra[30] = { 0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,	6,
					      6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13 };

/* Literals and back-references until the end-of-block symbol. */
static int inflate_codes(struct bits *b, struct out *o, const struct code *lit, const struct code *dist, struct why *e)
{
	for (;;) {
		int sym = code_decode(b, lit);
		if (sym < 0)
			return fail(e, "gzip: %s", b->truncated ? "the data ends too soon" : "a bad literal/length code");
		if (sym < 256) {
			if (out_room(o, 1, e) < 0)
				return -1;
			o->p[o->n++] = (unsigned char)sym;
			continue;
		}
		if (sym == 256)
			return 0;
		sym -= 257;
		if (sym >= 29)
			return fail(e, "gzip: a bad length symbol");
		size_t length = (size_t)len_base[sym] + take(b, len_extra[sym]);
		int d = code_decode(b, dist);
		if (d < 0 || d >= 30 || b->truncated)
			return fail(e, "gzip: %s", b->truncated ? "the data ends too soon" : "a bad distance code");
		size_t distance = (size_t)dist_base[d] + take(b, dist_extra[d]);
		if (b->truncated)
			return fail(e, "gzip: the data ends too soon");
		if (distance > o->n)
			return fail(e, "gzip: a back-reference before the start of the data");
		if (out_room(o, length, e) < 0)
			return -1;
		unsigned char *to = o->p + o->n;
		if (distance >= length) {
			memcpy(to, to - distance, length);
		} else {
			/* Overlapping: each byte may be one this copy just wrote. */
			for (size_t i = 0; i < length; i++)
				to[i] = to[i - distance];
		}
		o->n += length;
	}
}

static int inflate_stored(struct bits *b, struct out *o, struct why *e)
{
	b->buf = 0; /* the rest of the current byte is padding */
	b->have = 0;
	if (b->len - b->pos < 4)
		return fail(e, "gzip: the data ends too soon");
	unsigned n = b->in[b->pos] | (unsigned)b->in[b->pos + 1] << 8;
	unsigned check = b->in[b->pos + 2] | (unsigned)b->in[b->pos + 3] << 8;
	b->pos += 4;
	if ((n ^ 0xffff) != check)
		return fail(e, "gzip: a stored block's length is damaged");
	if (b->len - b->pos < n)
		return fail(e, "gzip: the data ends too soon");
	if (out_room(o, n, e) < 0)
		return -1;
	memcpy(o->p + o->n, b->in + b->pos, n);
	o->n += n;
	b->pos += n;
	return 0;
}

static int inflate_fixed(struct bits *b, struct out *o, struct why *e)
{
	static struct code lit, dist;
	static int built;
	if (!built) {
		unsigned char lens[NLITLEN];
		unsigned s = 0;
		for (; s < 144; s++)
			lens[s] = 8;
		for (; s < 256; s++)
			lens[s] = 9;
		for (; s < 280; s++)
			lens[s] = 7;
		for (; s < NLITLEN; s++)
			lens[s] = 8;
		code_build(&lit, lens, NLITLEN);
		memset(lens, 5, NDIST);
		code_build(&dist, lens, NDIST);
		built = 1;
	}
	return inflate_codes(b, o, &lit, &dist, e);
}

static int inflate_dynamic(struct bits *b, struct out *o, struct why *e)
{
	static const unsigned char order[19] = { 16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15 };
	unsigned char lens[NLITLEN + NDIST];
	struct code lencode, lit, dist;
	unsigned nlit = take(b, 5) + 257, ndist = take(b, 5) + 1, nlen = take(b, 4) + 4;
	if (b->truncated)
		return fail(e, "gzip: the data ends too soon");
	if (nlit > 286 || ndist > NDIST)
		return fail(e, "gzip: a block header with too many codes");
	memset(lens, 0, 19);
	for (unsigned i = 0; i < nlen; i++)
		lens[order[i]] = (unsigned char)take(b, 3);
	if (b->truncated || code_build(&lencode, lens, 19) < 0)
		return fail(e, "gzip: %s", b->truncated ? "the data ends too soon" : "a bad code-length code");
	/* The literal/length and distance lengths, run-length coded as one list. */
	for (unsigned i = 0; i < nlit + ndist;) {
		int sym = code_decode(b, &lencode);
		if (sym < 0)
			return fail(e, "gzip: %s", b->truncated ? "the data ends too soon" : "a bad code length");
		if (sym < 16) {
			lens[i++] = (unsigned char)sym;
			continue;
		}
		unsigned char value = 0;
		unsigned repeat;
		if (sym == 16) {
			if (i == 0)
				return fail(e, "gzip: a repeat with nothing to repeat");
			value = lens[i - 1];
			repeat = 3 + take(b, 2);
		} else if (sym == 17) {
			repeat = 3 + take(b, 3);
		} else {
			repeat = 11 + take(b, 7);
		}
		if (b->truncated || i + repeat > nlit + ndist)
			return fail(e, "gzip: %s", b->truncated ? "the data ends too soon" : "code lengths past the end");
		memset(lens + i, value, repeat);
		i += repeat;
	}
	if (lens[256] == 0)
		return fail(e, "gzip: a block without an end-of-block code");
	if (code_build(&lit, lens, nlit) < 0 || code_build(&dist, lens + nlit, ndist) < 0)
		return fail(e, "gzip: a block's codes are over-subscribed");
	return inflate_codes(b, o, &lit, &dist, e);
}

unsigned crc32_update(unsigned crc, const unsigned char *p, size_t n)
{
	static uint32_t table[256];
	if (!table[1]) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
	}
	uint32_t c = ~(uint32_t)crc;
	for (size_t i = 0; i < n; i++)
		c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
	return ~c;
}

/* Skips a NUL-terminated header field; -1 if the header ends first. */
static int skip_string(const unsigned char *in, size_t len, size_t *pos)
{
	while (*pos < len && in[*pos])
		(*pos)++;
	if (*pos >= len)
		return -1;
	(*pos)++;
	return 0;
}

int gunzip_mem(const unsigned char *in, size_t len, size_t limit, unsigned char **out, size_t *outlen, char *why,
	       size_t whysize)
{
	struct why w = { why, whysize }, *e = &w;
	enum { FHCRC = 2, FEXTRA = 4, FNAME = 8, FCOMMENT = 16 };
	*out = NULL;
	*outlen = 0;
	if (len < 18 || in[0] != 0x1f || in[1] != 0x8b)
		return fail(e, "gzip: not gzip data");
	if (in[2] != 8)
		return fail(e, "gzip: compression method %u is not deflate", in[2]);
	unsigned flags = in[3];
	size_t pos = 10;
	if (flags & FEXTRA) {
		size_t xlen = in[pos] | (size_t)in[pos + 1] << 8;
		pos += 2 + xlen;
	}
	if ((flags & FNAME && skip_string(in, len, &pos) < 0) || (flags & FCOMMENT && skip_string(in, len, &pos) < 0))
		return fail(e, "gzip: the header ends too soon");
	if (flags & FHCRC)
		pos += 2;
	if (pos + 8 > len)
		return fail(e, "gzip: the header ends too soon");

	struct bits b = { .in = in, .len = len - 8, .pos = pos };
	struct out o = { .limit = limit };
	unsigned last;
	do {
		last = take(&b, 1);
		unsigned type = take(&b, 2);
		int r;
		if (b.truncated)
			r = fail(e, "gzip: the data ends too soon");
		else if (type == 0)
			r = inflate_stored(&b, &o, e);
		else if (type == 1)
			r = inflate_fixed(&b, &o, e);
		else if (type == 2)
			r = inflate_dynamic(&b, &o, e);
		else
			r = fail(e, "gzip: a block of the reserved type 3");
		if (r < 0) {
			free(o.p);
			return -1;
		}
	} while (!last);

	const unsigned char *t = in + len - 8;
	uint32_t want_crc = t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24;
	uint32_t want_len = t[4] | (uint32_t)t[5] << 8 | (uint32_t)t[6] << 16 | (uint32_t)t[7] << 24;
	if (b.pos != b.len) {
		free(o.p);
		return fail(e, "gzip: %zu bytes after the compressed data (only one member is read)", b.len - b.pos);
	}
	if (crc32_update(0, o.p, o.n) != want_crc || (uint32_t)o.n != want_len) {
		free(o.p);
		return fail(e, "gzip: the data does not match its CRC-32 and length");
	}
	*out = o.p ? o.p : malloc(1);
	*outlen = o.n;
	return 0;
}
