#ifdef __linux__
#define _GNU_SOURCE
#include <netinet/in.h>
#include <sched.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <fcntl.h>
#include <net/if.h>
#include "CPPTPNetwork.h"

_Static_assert(sizeof(cpptp_mmsghdr) == sizeof(struct mmsghdr), "mmsghdr layout");
_Static_assert(offsetof(cpptp_mmsghdr, msg_len) == offsetof(struct mmsghdr, msg_len), "mmsghdr layout");

int cpptp_recvmmsg(int fd, cpptp_mmsghdr *vec, unsigned int vlen, int flags, struct timespec *timeout) {
    return recvmmsg(fd, (struct mmsghdr *)vec, vlen, flags, timeout);
}

size_t cpptp_pktinfo_space(void) { return CMSG_SPACE(sizeof(struct in_pktinfo)); }

size_t cpptp_fill_pktinfo(void *control, uint32_t source) {
    memset(control, 0, CMSG_SPACE(sizeof(struct in_pktinfo)));
    struct cmsghdr *header = (struct cmsghdr *)control;
    header->cmsg_level = IPPROTO_IP;
    header->cmsg_type = IP_PKTINFO;
    header->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
    struct in_pktinfo *info = (struct in_pktinfo *)CMSG_DATA(header);
    info->ipi_spec_dst.s_addr = source;
    return CMSG_SPACE(sizeof(struct in_pktinfo));
}

int cpptp_sendmmsg(int fd, cpptp_mmsghdr *vec, unsigned int vlen, int flags) {
    return sendmmsg(fd, (struct mmsghdr *)vec, vlen, flags);
}

int cpptp_setns(int fd, int nstype) { return setns(fd, nstype); }

int cpptp_clone_newnet(void) { return CLONE_NEWNET; }

int cpptp_pthread_setname(pthread_t thread, const char *name) {
    char shortName[16];
    strncpy(shortName, name, sizeof shortName - 1);
    shortName[sizeof shortName - 1] = 0;
    return pthread_setname_np(thread, shortName);
}

int cpptp_ioctl_ptr(int fd, unsigned long request, void *argument) { return ioctl(fd, request, argument); }

int cpptp_tun_set_iff(int fd, const char *name, short flags, char *actualName) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = flags;
    if (name != NULL) strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) return -1;
    memcpy(actualName, ifr.ifr_name, IFNAMSIZ);
    actualName[IFNAMSIZ - 1] = 0;
    return 0;
}

int cpptp_epoll_wait_ns(int epfd, struct epoll_event *events, int maxevents, int64_t timeoutNanoseconds) {
#ifdef SYS_epoll_pwait2
    static int unsupported = 0;
    if (!__atomic_load_n(&unsupported, __ATOMIC_RELAXED)) {
        struct timespec ts;
        struct timespec *tsp = NULL;
        if (timeoutNanoseconds >= 0) {
            ts.tv_sec = (time_t)(timeoutNanoseconds / 1000000000);
            ts.tv_nsec = (long)(timeoutNanoseconds % 1000000000);
            tsp = &ts;
        }
        long n = syscall(SYS_epoll_pwait2, epfd, events, maxevents, tsp, NULL, 0);
        if (n >= 0 || errno != ENOSYS) return (int)n;
        __atomic_store_n(&unsupported, 1, __ATOMIC_RELAXED);
    }
#endif
    int ms;
    if (timeoutNanoseconds < 0) ms = -1;
    else if (timeoutNanoseconds / 1000000 >= 0x7fffffff) ms = 0x7fffffff;
    else ms = (int)((timeoutNanoseconds + 999999) / 1000000);
    return epoll_wait(epfd, events, maxevents, ms);
}

int cpptp_pipe_cloexec(int fds[2], int nonBlockingWrite) {
    if (pipe2(fds, O_CLOEXEC) < 0) return -1;
    if (nonBlockingWrite) {
        int flags = fcntl(fds[1], F_GETFL);
        if (flags < 0 || fcntl(fds[1], F_SETFL, flags | O_NONBLOCK) < 0) {
            int saved = errno;
            close(fds[0]);
            close(fds[1]);
            errno = saved;
            return -1;
        }
    }
    return 0;
}

int cpptp_gettid(void) { return (int)syscall(SYS_gettid); }

int cpptp_install_signal_handler(int signo, void (*handler)(int), void *previous) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = handler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    return sigaction(signo, &action, (struct sigaction *)previous);
}

int cpptp_restore_signal_handler(int signo, const void *previous) {
    return sigaction(signo, (const struct sigaction *)previous, NULL);
}

int cpptp_sigaction_size(void) { return (int)sizeof(struct sigaction); }
#endif
