/*
 * push-receiver: the smallest HTTP/1.1 server that can stand behind `taskgate worker --http-target` in
 * scripts/bench. One thread, epoll (level-triggered), non-blocking sockets, keep-alive.
 *
 *     gcc -O2 -Wall -o push-receiver scripts/push-receiver.c
 *     push-receiver PORT
 *
 * Binds 127.0.0.1:PORT and prints `ready` on stdout once it listens. Every request (any method and path)
 * is read whole, head and body (Content-Length, or chunked), and answered
 * `HTTP/1.1 200 OK` with the body `ok`. Pipelined requests are answered in order, requests split over many
 * reads are put together, `Expect: 100-continue` gets its interim answer, `Connection: close` and HTTP/1.0
 * without keep-alive close after the answer. A malformed head (or one over 64 KiB) is answered 400 and the
 * connection closed. SIGTERM or SIGINT: prints `push-receiver: N requests, M connections` on stderr and
 * exits 0.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_HEAD (64 * 1024)           /* request line and headers */
#define MAX_BODY (64 * 1024 * 1024)    /* one request body */
#define MAX_OUT_PENDING (1024 * 1024)  /* stop reading a client that does not read its answers */
#define READ_CHUNK (64 * 1024)

static const char OK_RESPONSE[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok";
static const char BAD_RESPONSE[] =
    "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbad";
static const char CONTINUE_RESPONSE[] = "HTTP/1.1 100 Continue\r\n\r\n";

struct buffer {
    char *data;
    size_t len, off, cap; /* bytes data[off, len) are live */
};

struct conn {
    int fd;
    struct buffer in, out;
    int closing;       /* close once `out` is written; read nothing more */
    int peer_closed;   /* EOF read: answer what is complete, then close */
    int sent_continue; /* 100 Continue sent for the request at the head of `in` */
    uint32_t events;   /* what epoll watches now */
};

static struct conn **conns; /* by fd */
static size_t conns_cap;
static int epfd;
static unsigned long long requests_total, connections_total;

static void die(const char *what) {
    perror(what);
    exit(1);
}

static int reserve(struct buffer *b, size_t more) {
    if (b->off > 0 && (b->off == b->len || b->len + more > b->cap)) { /* compact first */
        memmove(b->data, b->data + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
    }
    if (b->len + more <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more) cap *= 2;
    char *data = realloc(b->data, cap);
    if (!data) return -1;
    b->data = data;
    b->cap = cap;
    return 0;
}

static int append(struct buffer *b, const char *data, size_t len) {
    if (reserve(b, len) < 0) return -1;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

static void watch(struct conn *c, uint32_t events) {
    if (events == c->events) return;
    struct epoll_event ev = {.events = events, .data.fd = c->fd};
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl MOD");
    c->events = events;
}

static void close_conn(struct conn *c) {
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    conns[c->fd] = NULL;
    free(c->in.data);
    free(c->out.data);
    free(c);
}

/* Case-insensitive: does the header value (len bytes) contain the token? */
static int value_has_token(const char *value, size_t len, const char *token) {
    size_t n = strlen(token);
    for (size_t i = 0; i + n <= len; i++)
        if (strncasecmp(value + i, token, n) == 0) return 1;
    return 0;
}

/* Parses a chunked body starting at p (end e). Returns the bytes it spans, 0 when incomplete, -1 when
 * malformed. */
static long chunked_length(const char *p, const char *e) {
    const char *start = p;
    for (;;) {
        const char *eol = memmem(p, e - p, "\r\n", 2);
        if (!eol) return (e - p > 1024) ? -1 : 0;
        size_t size = 0;
        const char *q = p;
        int digits = 0;
        for (; q < eol; q++) {
            int v;
            if (*q >= '0' && *q <= '9') v = *q - '0';
            else if (*q >= 'a' && *q <= 'f') v = *q - 'a' + 10;
            else if (*q >= 'A' && *q <= 'F') v = *q - 'A' + 10;
            else break;
            if (size > MAX_BODY) return -1;
            size = size * 16 + v;
            digits++;
        }
        if (!digits || (q < eol && *q != ';' && *q != ' ' && *q != '\t')) return -1;
        p = eol + 2;
        if (size == 0) { /* trailers, then an empty line */
            for (;;) {
                const char *end = memmem(p, e - p, "\r\n", 2);
                if (!end) return (e - p > MAX_HEAD) ? -1 : 0;
                if (end == p) return (long)(end + 2 - start);
                p = end + 2;
            }
        }
        if (p - start + size > MAX_BODY) return -1;
        if ((size_t)(e - p) < size + 2) return 0;
        if (p[size] != '\r' || p[size + 1] != '\n') return -1;
        p += size + 2;
    }
}

/* Answers every complete request at the head of c->in. Returns -1 on an allocation failure. */
static int serve_requests(struct conn *c) {
    while (!c->closing && c->out.len - c->out.off < MAX_OUT_PENDING) {
        char *p = c->in.data + c->in.off, *e = c->in.data + c->in.len;
        while (e - p >= 2 && p[0] == '\r' && p[1] == '\n') p += 2; /* empty lines before a request */
        c->in.off = p - c->in.data;
        if (p == e) break;
        char *head_end = memmem(p, e - p, "\r\n\r\n", 4);
        if (!head_end) {
            if (e - p > MAX_HEAD) goto bad;
            break;
        }
        if (head_end - p > MAX_HEAD) goto bad;
        /* Request line: METHOD SP TARGET SP HTTP/x.y */
        char *line_end = memmem(p, head_end + 2 - p, "\r\n", 2);
        char *version = memmem(p, line_end - p, " HTTP/1.", 8);
        if (!version || version + 9 != line_end) goto bad;
        int http10 = version[8] == '0';
        long long content_length = -1;
        int chunked = 0, close_after = http10, expect_continue = 0;
        for (char *h = line_end + 2; h < head_end + 2;) {
            char *eol = memmem(h, head_end + 2 - h, "\r\n", 2);
            char *colon = memchr(h, ':', eol - h);
            if (!colon || colon == h) goto bad;
            size_t name_len = colon - h;
            char *v = colon + 1;
            while (v < eol && (*v == ' ' || *v == '\t')) v++;
            size_t v_len = eol - v;
            if (name_len == 14 && strncasecmp(h, "Content-Length", 14) == 0) {
                long long n = 0;
                char *q = v;
                for (; q < eol && *q >= '0' && *q <= '9'; q++) {
                    n = n * 10 + (*q - '0');
                    if (n > MAX_BODY) goto bad;
                }
                while (q < eol && (*q == ' ' || *q == '\t')) q++;
                if (q == v || q != eol || (content_length >= 0 && content_length != n)) goto bad;
                content_length = n;
            } else if (name_len == 17 && strncasecmp(h, "Transfer-Encoding", 17) == 0) {
                if (value_has_token(v, v_len, "chunked")) chunked = 1;
            } else if (name_len == 10 && strncasecmp(h, "Connection", 10) == 0) {
                if (value_has_token(v, v_len, "close")) close_after = 1;
                else if (value_has_token(v, v_len, "keep-alive")) close_after = 0;
            } else if (name_len == 6 && strncasecmp(h, "Expect", 6) == 0) {
                if (value_has_token(v, v_len, "100-continue")) expect_continue = 1;
            }
            h = eol + 2;
        }
        char *body = head_end + 4;
        long long span; /* bytes of the body, once complete */
        if (chunked) {
            long n = chunked_length(body, e);
            if (n < 0) goto bad;
            span = n ? n : -1;
        } else {
            long long n = content_length < 0 ? 0 : content_length;
            span = (e - body >= n) ? n : -1;
        }
        if (span < 0) { /* the body is still coming */
            if (expect_continue && !c->sent_continue && !http10) {
                if (append(&c->out, CONTINUE_RESPONSE, sizeof CONTINUE_RESPONSE - 1) < 0) return -1;
                c->sent_continue = 1;
            }
            break;
        }
        if (append(&c->out, OK_RESPONSE, sizeof OK_RESPONSE - 1) < 0) return -1;
        requests_total++;
        c->sent_continue = 0;
        c->in.off = (body + span) - c->in.data;
        if (close_after) c->closing = 1;
    }
    if (c->in.off == c->in.len) c->in.off = c->in.len = 0;
    return 0;
bad: /* answered after the requests before it, then the connection closes */
    if (append(&c->out, BAD_RESPONSE, sizeof BAD_RESPONSE - 1) < 0) return -1;
    c->closing = 1;
    return 0;
}

/* Writes what it can. Returns -1 when the connection is done (closed). */
static int flush_out(struct conn *c) {
    while (c->out.off < c->out.len) {
        ssize_t n = send(c->fd, c->out.data + c->out.off, c->out.len - c->out.off, MSG_NOSIGNAL);
        if (n > 0) {
            c->out.off += n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else {
            close_conn(c);
            return -1;
        }
    }
    int pending = c->out.off < c->out.len;
    if (!pending) c->out.off = c->out.len = 0;
    if (!pending && c->closing) {
        close_conn(c);
        return -1;
    }
    uint32_t events = 0;
    if (pending) events |= EPOLLOUT;
    if (!c->closing && (!pending || c->out.len - c->out.off < MAX_OUT_PENDING)) events |= EPOLLIN;
    watch(c, events);
    return 0;
}

/* Answers what is complete and writes it, until no further request can be answered now. */
static void pump(struct conn *c) {
    for (;;) {
        unsigned long long before = requests_total;
        if (serve_requests(c) < 0) {
            close_conn(c);
            return;
        }
        if (c->peer_closed) c->closing = 1; /* nothing more can complete */
        if (flush_out(c) < 0) return;
        /* Requests held back while MAX_OUT_PENDING bytes of answers were waiting can go on now. */
        if (requests_total == before || c->closing || c->out.off < c->out.len || c->in.off == c->in.len) return;
    }
}

static void on_readable(struct conn *c) {
    for (int rounds = 0; rounds < 16; rounds++) { /* then let other connections have a turn */
        if (reserve(&c->in, READ_CHUNK) < 0) {
            close_conn(c);
            return;
        }
        size_t room = c->in.cap - c->in.len;
        ssize_t n = recv(c->fd, c->in.data + c->in.len, room, 0);
        if (n > 0) {
            c->in.len += n;
            if ((size_t)n < room) break; /* short read: the socket is empty for now */
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        c->peer_closed = 1; /* EOF or error */
        break;
    }
    pump(c);
}

static void accept_all(int listener) {
    for (;;) {
        int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                perror("accept4");
                return;
            }
            die("accept4");
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if ((size_t)fd >= conns_cap) {
            size_t cap = conns_cap ? conns_cap : 1024;
            while (cap <= (size_t)fd) cap *= 2;
            struct conn **grown = realloc(conns, cap * sizeof *conns);
            if (!grown) die("realloc");
            memset(grown + conns_cap, 0, (cap - conns_cap) * sizeof *conns);
            conns = grown;
            conns_cap = cap;
        }
        struct conn *c = calloc(1, sizeof *c);
        if (!c) die("calloc");
        c->fd = fd;
        c->events = EPOLLIN;
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl ADD");
        conns[fd] = c;
        connections_total++;
    }
}

int main(int argc, char **argv) {
    char *end = NULL;
    long port = argc == 2 ? strtol(argv[1], &end, 10) : -1;
    if (argc != 2 || !end || *end || port < 1 || port > 65535) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    if (sigprocmask(SIG_BLOCK, &signals, NULL) < 0) die("sigprocmask");
    signal(SIGPIPE, SIG_IGN);
    int sfd = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd < 0) die("signalfd");

    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listener < 0) die("socket");
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
    if (listen(listener, 4096) < 0) die("listen");

    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) die("epoll_create1");
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = listener};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, listener, &ev) < 0) die("epoll_ctl listener");
    ev.data.fd = sfd;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev) < 0) die("epoll_ctl signalfd");

    printf("ready\n");
    fflush(stdout);

    struct epoll_event events[256];
    for (;;) {
        int n = epoll_wait(epfd, events, 256, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd == listener) {
                accept_all(listener);
                continue;
            }
            if (fd == sfd) {
                fprintf(stderr, "push-receiver: %llu requests, %llu connections\n", requests_total,
                        connections_total);
                return 0;
            }
            struct conn *c = (size_t)fd < conns_cap ? conns[fd] : NULL;
            if (!c) continue; /* closed earlier in this round */
            uint32_t got = events[i].events;
            if ((got & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->closing) on_readable(c);
            else pump(c); /* writable (or an error, which the write reports) */
        }
    }
}
