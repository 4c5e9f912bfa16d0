/*
 * mhd-ceiling: libmicrohttpd doing nothing but HTTP, as Taskgate's gateway runs it, for scripts/bench to measure
 * the library's own ceiling beside the gateway in the same run.
 *
 *     gcc -O2 -Wall -o mhd-ceiling scripts/lib/mhd-ceiling.c $(pkg-config --cflags --libs libmicrohttpd)
 *     mhd-ceiling PORT THREADS [suspend]
 *
 * Binds 127.0.0.1:PORT with the daemon flags and options of TaskgateHTTP.HTTPServer (an internal epoll thread
 * pool of THREADS, inter-thread communication, suspend/resume allowed, a completion callback) and prints `ready`
 * on stdout once it listens. Every request has its body read whole, as the gateway reads a POST, and is answered
 * `202 Accepted` with the headers and a body of the size the gateway gives a new task (Content-Type, Location,
 * about 330 bytes of JSON), copied per response as the gateway's are (RESPMEM_MUST_COPY). Nothing is parsed and
 * nothing is stored: the gap between this and `POST /tasks` is Taskgate's own work per request.
 *
 * With `suspend`, each request is answered as the gateway answers a POST: suspended once its body is read and
 * handed to another thread, which resumes every request waiting (as the gateway's Redis writer does when a
 * batch comes back); the answer is then queued on libmicrohttpd's thread. That measures what suspending and
 * resuming cost libmicrohttpd (its epoll updates and inter-thread wake-ups) with no Redis round trip at all.
 * SIGTERM or SIGINT: prints `mhd-ceiling: N requests` on stderr and exits 0.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char BODY[] =
    "{\"id\":\"default.5b28837420744a030eea403fd081efc5\",\"queue\":\"default\",\"type\":\"bench\","
    "\"state\":\"pending\",\"payload\":{\"data\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxx\"},\"attempt\":0,\"retries\":0,\"max_retries\":5,\"created_at\":\"2026-12-07T13:45:30.123Z\"}";
static const char LOCATION[] = "/tasks/default.5b28837420744a030eea403fd081efc5";

static atomic_long answered;
static int marker;   /* its address marks a request whose head was seen */
static int resumed;  /* its address marks a request suspended and resumed: answer it now */

/* Requests waiting to be resumed (suspend mode): a fixed ring, as many as connections allowed. */
#define WAITING_MAX 4096
static struct MHD_Connection *waiting[WAITING_MAX];
static size_t waiting_count;
static pthread_mutex_t waiting_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t waiting_signal = PTHREAD_COND_INITIALIZER;
static int suspending;

static void *resumer(void *unused) {
    (void)unused;
    static struct MHD_Connection *batch[WAITING_MAX];
    for (;;) {
        pthread_mutex_lock(&waiting_lock);
        while (waiting_count == 0) pthread_cond_wait(&waiting_signal, &waiting_lock);
        size_t count = waiting_count;
        memcpy(batch, waiting, count * sizeof batch[0]);
        waiting_count = 0;
        pthread_mutex_unlock(&waiting_lock);
        for (size_t i = 0; i < count; i++) MHD_resume_connection(batch[i]);
    }
    return NULL;
}

static enum MHD_Result access_handler(
    void *context, struct MHD_Connection *connection, const char *url, const char *method, const char *version,
    const char *upload_data, size_t *upload_data_size, void **request) {
    (void)context; (void)url; (void)method; (void)version; (void)upload_data;
    if (*request == NULL) {  /* the head: answer after the body, as the gateway does */
        *request = &marker;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {  /* a body chunk: consumed */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (suspending && *request == &marker) {  /* the body is in: wait for the other thread, as for Redis */
        *request = &resumed;
        MHD_suspend_connection(connection);
        pthread_mutex_lock(&waiting_lock);
        waiting[waiting_count++] = connection;
        pthread_cond_signal(&waiting_signal);
        pthread_mutex_unlock(&waiting_lock);
        return MHD_YES;
    }
    struct MHD_Response *response =
        MHD_create_response_from_buffer(sizeof BODY - 1, (void *)BODY, MHD_RESPMEM_MUST_COPY);
    if (response == NULL) return MHD_NO;
    MHD_add_response_header(response, "Content-Type", "application/json");
    MHD_add_response_header(response, "Location", LOCATION);
    enum MHD_Result result = MHD_queue_response(connection, 202, response);
    MHD_destroy_response(response);
    atomic_fetch_add_explicit(&answered, 1, memory_order_relaxed);
    return result;
}

static void completed(
    void *context, struct MHD_Connection *connection, void **request, enum MHD_RequestTerminationCode code) {
    (void)context; (void)connection; (void)code;
    *request = NULL;
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "suspend") != 0)) {
        fprintf(stderr, "usage: mhd-ceiling PORT THREADS [suspend]\n");
        return 64;
    }
    suspending = argc == 4;
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_port = htons((uint16_t)atoi(argv[1]));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    unsigned int threads = (unsigned int)atoi(argv[2]);
    if (threads < 1) threads = 1;

    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);  /* the daemon's threads inherit the mask; main waits below */
    signal(SIGPIPE, SIG_IGN);

    struct MHD_Daemon *daemon = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL,
        access_handler, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&address, MHD_OPTION_THREAD_POOL_SIZE,
        threads, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_CONNECTION_LIMIT, 4096u,
        MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
    if (daemon == NULL) {
        fprintf(stderr, "mhd-ceiling: cannot listen on 127.0.0.1:%s\n", argv[1]);
        return 1;
    }
    pthread_t thread;
    if (suspending && pthread_create(&thread, NULL, resumer, NULL) != 0) {
        fprintf(stderr, "mhd-ceiling: cannot start the resuming thread\n");
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    int received;
    sigwait(&signals, &received);
    MHD_stop_daemon(daemon);
    fprintf(stderr, "mhd-ceiling: %ld requests\n", atomic_load(&answered));
    return 0;
}
