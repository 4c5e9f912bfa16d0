#ifndef TASKGATE_CCURL_SHIM_H
#define TASKGATE_CCURL_SHIM_H
/* The type-checking macros of curl.h wrap the variadic calls below; these wrappers already fix each type. */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

/* curl_easy_setopt, curl_easy_getinfo and curl_multi_setopt are variadic, which Swift cannot call: one wrapper
   per argument type. */
typedef size_t (*taskgate_curl_data_fn)(char *data, size_t size, size_t count, void *context);

static inline CURLcode taskgate_curl_set_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode taskgate_curl_set_pointer(CURL *handle, CURLoption option, const void *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode taskgate_curl_set_offset(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode taskgate_curl_set_function(CURL *handle, CURLoption option, taskgate_curl_data_fn value) {
    return curl_easy_setopt(handle, option, value);
}
/* CURLOPT_OPENSOCKETFUNCTION: called with each address before its socket is opened, so that an address a name
   resolved to can still be refused (CURL_SOCKET_BAD). */
typedef curl_socket_t (*taskgate_curl_opensocket_fn)(void *context, curlsocktype purpose,
                                                     struct curl_sockaddr *address);
static inline CURLcode taskgate_curl_set_opensocket(CURL *handle, taskgate_curl_opensocket_fn value) {
    return curl_easy_setopt(handle, CURLOPT_OPENSOCKETFUNCTION, value);
}
static inline long taskgate_curl_response_code(CURL *handle) {
    long code = 0;
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &code);
    return code;
}
static inline void *taskgate_curl_private(CURL *handle) {
    char *context = NULL;
    curl_easy_getinfo(handle, CURLINFO_PRIVATE, &context);
    return context;
}
static inline CURLMcode taskgate_curl_multi_set_long(CURLM *multi, CURLMoption option, long value) {
    return curl_multi_setopt(multi, option, value);
}
/* CURLMsg's result sits in a union. */
static inline CURLcode taskgate_curl_message_result(const CURLMsg *message) { return message->data.result; }
#endif
