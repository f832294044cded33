#include "netif.h"

#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct request {
	struct nlmsghdr h;
	struct ifinfomsg ifi;
	char attrs[512];
};

static struct rtattr *attr(struct request *r, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->h.nlmsg_len));
	size_t room = sizeof(*r) - NLMSG_ALIGN(r->h.nlmsg_len);
	if (RTA_SPACE(len) > room)
		return NULL;
	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	r->h.nlmsg_len = NLMSG_ALIGN(r->h.nlmsg_len) + RTA_ALIGN(a->rta_len);
	return a;
}

/* A nested attribute's length is known once its members are added. */
static void nest_end(struct request *r, struct rtattr *nest)
{
	nest->rta_len = (unsigned short)((char *)r + r->h.nlmsg_len - (char *)nest);
}

static void request_init(struct request *r, unsigned short flags)
{
	memset(r, 0, sizeof(*r));
	r->h.nlmsg_len = NLMSG_LENGTH(sizeof(r->ifi));
	r->h.nlmsg_type = RTM_NEWLINK;
	r->h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	r->h.nlmsg_seq = 1;
	r->ifi.ifi_family = AF_UNSPEC;
}

/* Sends the request and returns the kernel's answer as -1 with errno. */
static int talk(struct request *r)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	char buf[1024];
	autoclose int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -1;
	if (sendto(fd, r, r->h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -1;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type != NLMSG_ERROR)
				continue;
			const struct nlmsgerr *err = NLMSG_DATA(h);
			if (err->error == 0)
				return 0;
			errno = -err->error;
			return -1;
		}
	}
}

static struct rtattr *name_attr(struct request *r, const char *name)
{
	return attr(r, IFLA_IFNAME, name, strlen(name) + 1);
}

int netif_create(const char *name, const char *kind, const char *peer, pid_t ns_pid, err_t *e)
{
	struct request r;
	uint32_t pid = (uint32_t)ns_pid;
	request_init(&r, NLM_F_CREATE | NLM_F_EXCL);
	struct rtattr *info = NULL;
	bool fits = name_attr(&r, name) && (!ns_pid || attr(&r, IFLA_NET_NS_PID, &pid, sizeof(pid))) &&
		    (info = attr(&r, IFLA_LINKINFO, NULL, 0)) && attr(&r, IFLA_INFO_KIND, kind, strlen(kind));
	if (fits && peer) {
		struct rtattr *data = attr(&r, IFLA_INFO_DATA, NULL, 0), *p = NULL;
		struct ifinfomsg peer_ifi = { .ifi_family = AF_UNSPEC };
		fits = data && (p = attr(&r, VETH_INFO_PEER, &peer_ifi, sizeof(peer_ifi))) && name_attr(&r, peer);
		if (fits) {
			nest_end(&r, p);
			nest_end(&r, data);
		}
	}
	if (!fits)
		return err_set(e, "add %s %s: request too long", kind, name);
	nest_end(&r, info);
	if (talk(&r) < 0)
		return err_sys(e, "add %s %s%s%s", kind, name, peer ? " with peer " : "", peer ? peer : "");
	return 0;
}

int netif_move(const char *name, pid_t pid, err_t *e)
{
	struct request r;
	uint32_t p = (uint32_t)pid;
	request_init(&r, 0);
	if (!name_attr(&r, name) || !attr(&r, IFLA_NET_NS_PID, &p, sizeof(p)))
		return err_set(e, "move %s: request too long", name);
	if (talk(&r) < 0)
		return err_sys(e, "move interface %s into the container's network namespace", name);
	return 0;
}
