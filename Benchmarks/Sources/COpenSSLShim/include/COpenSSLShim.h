// Reference implementations for the MSCrypto benchmarks, and an allocation counter.
#pragma once
#include <stddef.h>
#include <stdint.h>

/// Opaque per-direction MPPE-128 state (master key, session key, RC4 state, coherency count).
typedef struct bench_mppe bench_mppe;
/// Opaque RC4 state.
typedef struct bench_rc4 bench_rc4;

/// Implementation used by a state: OpenSSL's libcrypto (assembly RC4 and SHA-1) or plain C (rc4_sha1.h).
enum { BENCH_OPENSSL = 0, BENCH_PLAIN_C = 1 };

bench_rc4 *bench_rc4_new(int impl, const uint8_t *key, size_t key_length);
void bench_rc4_process(bench_rc4 *state, uint8_t *buffer, size_t count);
void bench_rc4_free(bench_rc4 *state);

/// MPPE-128 from a 16-byte master key and initial session key, as pptp_toy.c does it (RFC 3078 §7.3 key change:
/// SHA-1, RC4 key schedule of the interim key, RC4 of the interim key, key schedule of the new session key).
bench_mppe *bench_mppe_new(int impl, const uint8_t *master, const uint8_t *initial_session);
/// Stateless: key change, then RC4 over the packet. Returns the 2-byte MPPE header.
uint16_t bench_mppe_stateless_encrypt(bench_mppe *state, uint8_t *buffer, size_t count);
/// Stateful: key change on flag packets (ccount & 0xFF == 0xFF), then RC4. Returns the header.
uint16_t bench_mppe_stateful_encrypt(bench_mppe *state, uint8_t *buffer, size_t count);
void bench_mppe_free(bench_mppe *state);

/// Number of malloc/calloc/realloc/posix_memalign/aligned_alloc/memalign calls so far, in this process.
long bench_allocation_count(void);
