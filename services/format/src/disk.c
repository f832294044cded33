#include "disk.h"

#include <string.h>
#include <sys/random.h>

static int random_bytes(void *buf, size_t len, err_t *e)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = getrandom((char *)buf + done, len - done, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys(e, "getrandom");
		done += (size_t)n;
	}
	return 0;
}

int inspect_fd(int fd, uint64_t size, uint32_t ssz, const struct want *w, struct inspection *out, err_t *e)
{
	size_t head_len = size < HEAD_BYTES ? (size_t)size : HEAD_BYTES;
	size_t tail_len = size < EDGE_BYTES ? (size_t)size : EDGE_BYTES;
	autofree unsigned char *head = malloc(head_len ? head_len : 1);
	autofree unsigned char *tail = malloc(tail_len ? tail_len : 1);
	if (!head || !tail)
		return err_sys(e, "inspect");
	if (read_at(fd, head, head_len, 0, e) < 0 || read_at(fd, tail, tail_len, size - tail_len, e) < 0)
		return -1;
	inspect(head, head_len, tail, tail_len, size, ssz, w, out);
	return 0;
}

int write_table(int fd, uint64_t size, uint32_t ssz, enum ptable_kind kind, struct partition *made, bool *capped,
		err_t *e)
{
	if (size < MIN_DISK_BYTES)
		return err_set(e, "the disk is too small (%llu bytes; format needs %llu MiB)", (unsigned long long)size,
			       MIN_DISK_BYTES >> 20);
	if (ptable_layout(kind, size, ssz, made, capped, e) < 0)
		return -1;
	struct ptable_ids ids;
	if (random_bytes(&ids, sizeof(ids), e) < 0)
		return -1;
	guid_v4(ids.disk_guid);
	guid_v4(ids.part_guid);

	/* The end of a disk is a whole number of sectors: so is the tail. */
	uint64_t end = size / ssz * ssz;
	autofree unsigned char *head = calloc(1, HEAD_BYTES);
	autofree unsigned char *tail = calloc(1, EDGE_BYTES);
	if (!head || !tail)
		return err_sys(e, "write the partition table");
	ptable_build(kind, end, ssz, &ids, head, HEAD_BYTES, tail, EDGE_BYTES);
	/* The head first: cut short after it, the disk reads as "unfinished"
	 * (format's table, no file system) and the next run starts again. */
	if (write_at(fd, head, HEAD_BYTES, 0, e) < 0 || write_at(fd, tail, EDGE_BYTES, end - EDGE_BYTES, e) < 0)
		return err_prefix(e, "write the partition table");
	if (fsync(fd) < 0)
		return err_sys(e, "write the partition table: fsync");
	return 0;
}
