#ifndef TASKGATE_CMICROHTTPD_SHIM_H
#define TASKGATE_CMICROHTTPD_SHIM_H
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include <malloc.h>

/* glibc's malloc tuning is not in Swift's Glibc module; the two calls MemoryBudget makes, kept here. */
static inline void taskgate_malloc_fixed_mmap_threshold(int bytes) { (void)mallopt(M_MMAP_THRESHOLD, bytes); }
static inline void taskgate_malloc_trim(void) { (void)malloc_trim(0); }

/* MHD_start_daemon is variadic, which Swift cannot call: pass every option as one MHD_OPTION_ARRAY built in Swift. */
static inline struct MHD_Daemon *taskgate_mhd_start(unsigned int flags, uint16_t port,
                                                    MHD_AccessHandlerCallback handler, void *handler_cls,
                                                    struct MHD_OptionItem *options) {
    return MHD_start_daemon(flags, port, NULL, NULL, handler, handler_cls,
                            MHD_OPTION_ARRAY, options, MHD_OPTION_END);
}

/* MHD_get_daemon_info is variadic too; the bound port is the only info we read. */
static inline uint16_t taskgate_mhd_bound_port(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info == NULL ? 0 : info->port;
}

#endif
