// Linux declarations that Swift's Glibc module does not export, for PPTPNetwork only.
//
// Swift imports glibc without _GNU_SOURCE, so recvmmsg/sendmmsg, setns/unshare and
// pthread_setname_np are invisible to Swift. As in swift-nio's CNIOLinux, this module declares
// layout-compatible types and thin wrappers that are compiled in C with _GNU_SOURCE (shims.c).
// Linux-only headers (epoll, eventfd, signalfd, rtnetlink, if_tun) are not part of the Glibc
// module and are imported here directly.
#ifndef CPPTP_NETWORK_H
#define CPPTP_NETWORK_H

#ifdef __linux__
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>

/// Same layout as `struct mmsghdr` (checked by a static assertion in shims.c).
typedef struct {
    struct msghdr msg_hdr;
    unsigned int msg_len;
} cpptp_mmsghdr;

/// recvmmsg(2). Returns -1 and sets errno on error.
int cpptp_recvmmsg(int fd, cpptp_mmsghdr *vec, unsigned int vlen, int flags, struct timespec *timeout);
/// sendmmsg(2). Returns -1 and sets errno on error.
int cpptp_sendmmsg(int fd, cpptp_mmsghdr *vec, unsigned int vlen, int flags);
/// Octets of control data that `cpptp_fill_pktinfo` needs (CMSG_SPACE of a struct in_pktinfo).
size_t cpptp_pktinfo_space(void);
/// Writes an IP_PKTINFO control message into `control` (at least `cpptp_pktinfo_space()` octets)
/// whose ipi_spec_dst is `source` (network order): sendmsg(2) then sends from that address (ip(7)).
/// Returns the control length to put in msg_controllen.
size_t cpptp_fill_pktinfo(void *control, uint32_t source);
/// setns(2) on the calling thread.
int cpptp_setns(int fd, int nstype);
/// The CLONE_NEWNET flag of setns(2)/unshare(2).
int cpptp_clone_newnet(void);
/// pthread_setname_np(3); names longer than 15 octets are truncated.
int cpptp_pthread_setname(pthread_t thread, const char *name);
/// ioctl(2) with a pointer argument (ioctl is variadic, so Swift cannot call it directly).
int cpptp_ioctl_ptr(int fd, unsigned long request, void *argument);
/// TUNSETIFF on a descriptor of /dev/net/tun: `name` is the requested name or pattern (may be
/// empty), `flags` the IFF_* flags; on success the kernel's name is written to `actualName`
/// (at least IFNAMSIZ octets, NUL-terminated). Returns -1 and sets errno on error.
int cpptp_tun_set_iff(int fd, const char *name, short flags, char *actualName);
/// epoll_pwait2(2) with a nanosecond timeout (negative: wait forever); falls back to
/// epoll_wait(2) with the timeout rounded up to milliseconds where the kernel lacks it.
int cpptp_epoll_wait_ns(int epfd, struct epoll_event *events, int maxevents, int64_t timeoutNanoseconds);
/// pipe2(2) with O_CLOEXEC (and O_NONBLOCK on the write end when `nonBlockingWrite`), so that
/// no descriptor leaks into a process spawned meanwhile by another thread.
int cpptp_pipe_cloexec(int fds[2], int nonBlockingWrite);
/// The calling thread's kernel thread id, gettid(2).
int cpptp_gettid(void);
/// Installs `handler` for `signo` with sigaction(2) (SA_RESTART), saving the previous action
/// in the opaque `previous` (at least cpptp_sigaction_size() octets).
int cpptp_install_signal_handler(int signo, void (*handler)(int), void *previous);
/// Restores an action saved by cpptp_install_signal_handler.
int cpptp_restore_signal_handler(int signo, const void *previous);
/// sizeof(struct sigaction).
int cpptp_sigaction_size(void);
#endif

#endif
