#include <linux/netlink.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/handlers.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "net/nl.h"

/* libnl numbers its errors on its own (NLE_EXIST is 6, NLE_NODEV 31), so they must never
 * leak past net/ as if they were errno values. */
static const struct {
        int nle;
        int errno_;
} nle_table[] = {
        {NLE_EXIST, EEXIST},
        {NLE_NODEV, ENODEV},
        {NLE_OBJ_NOTFOUND, ENOENT},
        {NLE_PERM, EPERM},
        {NLE_BUSY, EBUSY},
        {NLE_INVAL, EINVAL},
        {NLE_NOMEM, ENOMEM},
        {NLE_RANGE, ERANGE},
        {NLE_AGAIN, EAGAIN},
        {NLE_INTR, EINTR},
        {NLE_BAD_SOCK, EBADF},
        {NLE_NOACCESS, EACCES},
        {NLE_OPNOTSUPP, EOPNOTSUPP},
        {NLE_AF_NOSUPPORT, EAFNOSUPPORT},
        {NLE_NOADDR, EADDRNOTAVAIL},
        {NLE_MSGSIZE, EMSGSIZE},
        {NLE_PROTO_MISMATCH, EPROTONOSUPPORT},
};

int net_nl_errno(int nle)
{
        if (nle < 0)
                nle = -nle;
        for (size_t i = 0; i < ARRAY_SIZE(nle_table); i++)
                if (nle_table[i].nle == nle)
                        return -nle_table[i].errno_;
        return -EPROTO;
}

/* The extended ACK follows the nlmsgerr, after the echoed request unless the kernel capped
 * it (NETLINK_CAP_ACK). */
static void record_ext_ack(struct net_nl *nl, const struct nlmsgerr *e)
{
        const struct nlmsghdr *hdr = (const void *)((const char *)e - NLMSG_HDRLEN);
        size_t total = hdr->nlmsg_len - NLMSG_HDRLEN, off = sizeof(*e);
        struct nlattr *msg;

        if (!(hdr->nlmsg_flags & NLM_F_ACK_TLVS))
                return;
        if (!(hdr->nlmsg_flags & NLM_F_CAPPED) && e->msg.nlmsg_len >= NLMSG_HDRLEN)
                off += e->msg.nlmsg_len - NLMSG_HDRLEN;
        off = NLMSG_ALIGN(off);
        if (off >= total)
                return;
        msg = nla_find((struct nlattr *)((char *)e + off), (int)(total - off), NLMSGERR_ATTR_MSG);
        if (msg && nla_len(msg) > 0)
                snprintf(nl->ext_ack, sizeof(nl->ext_ack), "%.*s",
                         (int)strnlen(nla_data(msg), (size_t)nla_len(msg)),
                         (const char *)nla_data(msg));
}

static int on_error(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
        struct net_nl *nl = arg;

        (void)who;
        nl->kernel_errno = e->error < 0 ? -e->error : e->error;
        nl->ext_ack[0] = '\0';
        record_ext_ack(nl, e);
        /* NL_STOP: libnl still returns its -NLE_* code; the errno is read from nl. */
        return NL_STOP;
}

int net_nl_open(struct net_nl *nl, struct err *err)
{
        struct nl_sock *sk = nl_socket_alloc();
        int one = 1, r;

        nl->sk = NULL;
        nl->kernel_errno = 0;
        nl->ext_ack[0] = '\0';
        if (!sk)
                return err_set(err, -ENOMEM, "allocating a netlink socket");
        r = nl_connect(sk, NETLINK_ROUTE);
        if (r < 0) {
                nl_socket_free(sk);
                return err_set(err, net_nl_errno(r), "connecting to rtnetlink: %s", nl_geterror(r));
        }
        /* Best effort: kernels without them still answer, only with less detail. */
        (void)setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
        (void)setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
        nl_socket_modify_err_cb(sk, NL_CB_CUSTOM, on_error, nl);
        nl->sk = sk;
        return 0;
}

struct open_in_netns {
        struct net_nl *nl;
        int netns_fd;
        int r;
        struct err err;
};

/* Runs on its own thread: setns(CLONE_NEWNET) affects only this thread, and a socket stays
 * in the namespace it was created in after the thread is gone. */
static void *open_in_netns_thread(void *arg)
{
        struct open_in_netns *a = arg;

        if (setns(a->netns_fd, CLONE_NEWNET) < 0) {
                a->r = err_errno(&a->err, "entering the network namespace of fd %d", a->netns_fd);
                return NULL;
        }
        a->r = net_nl_open(a->nl, &a->err);
        return NULL;
}

int net_nl_open_netns(struct net_nl *nl, int netns_fd, struct err *err)
{
        struct open_in_netns a = {.nl = nl, .netns_fd = netns_fd, .r = -EIO};
        pthread_t t;
        int r;

        nl->sk = NULL;
        if (netns_fd < 0)
                return err_set(err, -EBADF, "network namespace fd %d", netns_fd);
        err_clear(&a.err);
        r = pthread_create(&t, NULL, open_in_netns_thread, &a);
        if (r != 0)
                return err_set(err, -r, "starting a thread to open a netlink socket: %s",
                               strerror(r));
        r = pthread_join(t, NULL);
        if (r != 0)
                return err_set(err, -r, "joining the netlink socket thread: %s", strerror(r));
        if (a.r < 0) {
                *err = a.err;
                return a.r;
        }
        return 0;
}

void net_nl_close(struct net_nl *nl)
{
        if (nl->sk) {
                nl_socket_free(nl->sk);
                nl->sk = NULL;
        }
}

int net_nl_code(const struct net_nl *nl, int r)
{
        return nl->kernel_errno ? -nl->kernel_errno : net_nl_errno(r);
}

void net_nl_forget(struct net_nl *nl)
{
        nl->kernel_errno = 0;
        nl->ext_ack[0] = '\0';
}

int net_nl_fail(struct net_nl *nl, int r, struct err *err, const char *fmt, ...)
{
        char ctx[ERR_MSG_MAX], ext[NET_NL_EXTACK_MAX + 2] = "", sys[80] = "";
        int kernel = nl->kernel_errno, code;
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(ctx, sizeof(ctx), fmt, ap);
        va_end(ap);
        if (nl->ext_ack[0])
                snprintf(ext, sizeof(ext), ": %s", nl->ext_ack);
        code = net_nl_code(nl, r);
        net_nl_forget(nl);
        /* libnl folds many errnos into "Unspecific failure"; keep the kernel's word too. */
        if (kernel && net_nl_errno(r) != -kernel)
                snprintf(sys, sizeof(sys), " (%s)", strerror(kernel));
        return err_set(err, code, "%s: %s%s%s", ctx, nl_geterror(r), ext, sys);
}
