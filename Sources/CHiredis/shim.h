#ifndef TASKGATE_CHIREDIS_SHIM_H
#define TASKGATE_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#include <sys/time.h>

/* redisContext.errstr is a fixed char array that Swift imports as a 128-element tuple; hand it over as a C string. */
static inline const char *taskgate_redis_errstr(const redisContext *c) { return c->errstr; }

/* Swift cannot build a struct timeval literal portably across libcs; this keeps the conversion in C. */
static inline struct timeval taskgate_timeval_ms(long ms) {
    struct timeval tv;
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    return tv;
}
#endif
