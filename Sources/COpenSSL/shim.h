#ifndef TASKGATE_COPENSSL_SHIM_H
#define TASKGATE_COPENSSL_SHIM_H
/* SHA1_Init and friends are deprecated in OpenSSL 3 but kept: see taskgate_sha1. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

/* The two digests Taskgate needs from OpenSSL's libcrypto (Debian's libssl3), each one call: the SHA1 that names a
   Redis script, and the HMAC-SHA256 of a Standard Webhooks signature. Both return 1 on success, 0 on failure. */
static inline int taskgate_sha1(const void *data, size_t count, unsigned char out[20]) {
    /* The direct implementation, not EVP: EVP's first use initialises OpenSSL's providers and configuration, which
       cost the gateway 1.7 MB of resident memory on its first POST for nothing but naming its scripts. */
    SHA_CTX context;
    return SHA1_Init(&context) == 1 && SHA1_Update(&context, data, count) == 1 && SHA1_Final(out, &context) == 1;
}

static inline int taskgate_hmac_sha256(
    const void *key, int keyCount, const unsigned char *data, size_t count, unsigned char out[32]) {
    unsigned int length = 0;
    /* HMAC() dereferences key even for an empty key: hand it a valid pointer. */
    static const unsigned char none = 0;
    return HMAC(EVP_sha256(), keyCount > 0 ? key : &none, keyCount, data, count, out, &length) != NULL && length == 32;
}
#endif
