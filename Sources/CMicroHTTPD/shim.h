#ifndef TASKGATE_CMICROHTTPD_SHIM_H
#define TASKGATE_CMICROHTTPD_SHIM_H
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include <malloc.h>
#include <sys/epoll.h>
#include <fcntl.h>
#include <unistd.h>

/* pipe2 needs _GNU_SOURCE, which Swift's Glibc module does not define; the router's wake pipe, made here. */
int pipe2(int pipefd[2], int flags);
static inline int taskgate_wake_pipe(int fds[2]) { return pipe2(fds, O_CLOEXEC | O_NONBLOCK); }
/* accept4 likewise: the router's accepted sockets are non-blocking and close-on-exec from the start. */
int accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen, int flags);
static inline int taskgate_accept(int listener, struct sockaddr *address, socklen_t *length) {
    return accept4(listener, address, length, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

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

/* MHD_get_connection_info is variadic too; the client's address is the only info we read. */
static inline const struct sockaddr *taskgate_mhd_client_address(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    return info == NULL ? NULL : info->client_addr;
}

#endif
