#ifndef TASKGATE_CHIREDIS_SHIM_H
#define TASKGATE_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#include <sys/time.h>
#include <sys/epoll.h>
#include <unistd.h>

/* redisContext.errstr is a fixed char array that Swift imports as a 128-element tuple; hand it over as a C string. */
static inline const char *taskgate_redis_errstr(const redisContext *c) { return c->errstr; }

/* Swift cannot build a struct timeval literal portably across libcs; this keeps the conversion in C. */
static inline struct timeval taskgate_timeval_ms(long ms) {
    struct timeval tv;
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    return tv;
}

/* A Redis Cluster subscriber waits on one descriptor for the sockets of several nodes: an epoll set (its
   struct is packed on x86-64, which Swift cannot build, so the calls stay in C). Returns -1 on failure. */
static inline int taskgate_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }
static inline int taskgate_epoll_watch(int set, int fd) {
    struct epoll_event event;
    event.events = EPOLLIN;
    event.data.fd = fd;
    return epoll_ctl(set, EPOLL_CTL_ADD, fd, &event);
}
#endif
