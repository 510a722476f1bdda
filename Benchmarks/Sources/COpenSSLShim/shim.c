// Reference implementations for the MSCrypto benchmarks (see include/COpenSSLShim.h), and an allocation counter
// interposed on glibc's malloc family.
#define _GNU_SOURCE
#include "COpenSSLShim.h"

#include <openssl/rc4.h>
#include <openssl/sha.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "rc4_sha1.h"

struct bench_rc4 {
    int impl;
    RC4_KEY openssl;
    rc4_t plain;
};

bench_rc4 *bench_rc4_new(int impl, const uint8_t *key, size_t key_length) {
    bench_rc4 *state = calloc(1, sizeof *state);
    state->impl = impl;
    if (impl == BENCH_OPENSSL) RC4_set_key(&state->openssl, (int)key_length, key);
    else rc4_setkey(&state->plain, key, key_length);
    return state;
}

void bench_rc4_process(bench_rc4 *state, uint8_t *buffer, size_t count) {
    if (state->impl == BENCH_OPENSSL) RC4(&state->openssl, count, buffer, buffer);
    else rc4_crypt(&state->plain, buffer, count);
}

void bench_rc4_free(bench_rc4 *state) { free(state); }

// ---- MPPE-128, the same code as pptp_toy.c's m_rekey / m_setkey / m_crypt / tx_build ----

struct bench_mppe {
    int impl;
    RC4_KEY openssl;
    rc4_t plain;
    uint8_t master[16], session[16];
    unsigned ccount;
};

static const uint8_t pad1[40] = {0};
static uint8_t pad2[40];

static void set_key(bench_mppe *m) {
    if (m->impl == BENCH_OPENSSL) RC4_set_key(&m->openssl, 16, m->session);
    else rc4_setkey(&m->plain, m->session, 16);
}

static void crypt(bench_mppe *m, uint8_t *buffer, size_t count) {
    if (m->impl == BENCH_OPENSSL) RC4(&m->openssl, count, buffer, buffer);
    else rc4_crypt(&m->plain, buffer, count);
}

static void rekey(bench_mppe *m) {
    uint8_t digest[20];
    if (m->impl == BENCH_OPENSSL) {
        SHA_CTX c;
        SHA1_Init(&c);
        SHA1_Update(&c, m->master, 16);
        SHA1_Update(&c, pad1, 40);
        SHA1_Update(&c, m->session, 16);
        SHA1_Update(&c, pad2, 40);
        SHA1_Final(digest, &c);
        RC4_KEY interim;
        RC4_set_key(&interim, 16, digest);
        RC4(&interim, 16, digest, m->session);
    } else {
        sha1_t c;
        sha1_init(&c);
        sha1_update(&c, m->master, 16);
        sha1_update(&c, pad1, 40);
        sha1_update(&c, m->session, 16);
        sha1_update(&c, pad2, 40);
        sha1_final(&c, digest);
        rc4_t interim;
        rc4_setkey(&interim, digest, 16);
        memcpy(m->session, digest, 16);
        rc4_crypt(&interim, m->session, 16);
    }
    set_key(m);
}

bench_mppe *bench_mppe_new(int impl, const uint8_t *master, const uint8_t *initial_session) {
    memset(pad2, 0xF2, sizeof pad2);
    bench_mppe *m = calloc(1, sizeof *m);
    m->impl = impl;
    memcpy(m->master, master, 16);
    memcpy(m->session, initial_session, 16);
    m->ccount = 0xFFF;
    set_key(m);
    return m;
}

uint16_t bench_mppe_stateless_encrypt(bench_mppe *m, uint8_t *buffer, size_t count) {
    m->ccount = (m->ccount + 1) & 0xFFF;
    rekey(m);
    crypt(m, buffer, count);
    return (uint16_t)(0x9000 | m->ccount);
}

uint16_t bench_mppe_stateful_encrypt(bench_mppe *m, uint8_t *buffer, size_t count) {
    m->ccount = (m->ccount + 1) & 0xFFF;
    int flushed = 0;
    if ((m->ccount & 0xFF) == 0xFF) {
        rekey(m);
        flushed = 1;
    }
    crypt(m, buffer, count);
    return (uint16_t)((flushed ? 0x9000 : 0x1000) | m->ccount);
}

void bench_mppe_free(bench_mppe *m) { free(m); }

// ---- Allocation counter: these definitions interpose on glibc's, which remain reachable as __libc_*. ----

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static atomic_long allocations;

void *malloc(size_t size) {
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    return __libc_malloc(size);
}

void *calloc(size_t count, size_t size) {
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    return __libc_calloc(count, size);
}

void *realloc(void *pointer, size_t size) {
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    return __libc_realloc(pointer, size);
}

void free(void *pointer) { __libc_free(pointer); }

int posix_memalign(void **out, size_t alignment, size_t size) {
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL) return 12;  // ENOMEM
    *out = pointer;
    return 0;
}

void *aligned_alloc(size_t alignment, size_t size) {
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    return __libc_memalign(alignment, size);
}

void *memalign(size_t alignment, size_t size) {
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    return __libc_memalign(alignment, size);
}

long bench_allocation_count(void) { return atomic_load_explicit(&allocations, memory_order_relaxed); }
