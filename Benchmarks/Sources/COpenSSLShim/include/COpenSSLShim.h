// Reference implementations for the MSCrypto benchmarks, and an allocation counter.
#pragma once
#include <stddef.h>
#include <stdint.h>

/// Opaque per-direction MPPE-128 state (master key, session key, RC4 state, coherency count).
typedef struct bench_mppe bench_mppe;
/// Opaque RC4 state.
typedef struct bench_rc4 bench_rc4;

/// Implementation used by a state: OpenSSL's libcrypto (assembly RC4 and SHA-1) or plain C (rc4_sha1.h).
enum { BENCH_OPENSSL = 0, BENCH_PLAIN_C = 1, BENCH_NO_CRYPTO = 2 };

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

/// One endpoint of the C reference data path (the per-packet work of ../shared/reference/pptp_toy.c, see
/// reference_datapath.c), with its keys, Call IDs and sequence numbers. `impl` is BENCH_OPENSSL, BENCH_PLAIN_C or
/// BENCH_NO_CRYPTO; `role_a` selects the keys and Call IDs of end "a" (1) or "b" (0), so an "a" talks to a "b".
typedef struct bench_reference_endpoint bench_reference_endpoint;
/// Octets pptp_toy.c writes in front of the IP packet: 16 GRE + 2 PPP protocol + 2 MPPE + 2 inner protocol.
enum { BENCH_REFERENCE_HEADROOM = 22 };
bench_reference_endpoint *bench_reference_new(int impl, int stateless, int role_a);
void bench_reference_free(bench_reference_endpoint *endpoint);
/// Encapsulates the `count`-octet IP packet at buffer + BENCH_REFERENCE_HEADROOM in place; the GRE packet starts at
/// `buffer`. Returns its length.
size_t bench_reference_encapsulate(bench_reference_endpoint *endpoint, uint8_t *buffer, size_t count);
/// Decapsulates the GRE packet `gre` (no IP header) in place. Returns the offset of the IP packet and its length in
/// *out_length, or -1 when the packet is dropped.
long bench_reference_decapsulate(bench_reference_endpoint *endpoint, uint8_t *gre, size_t length, size_t *out_length);
/// Packets dropped or rejected so far.
long bench_reference_dropped(const bench_reference_endpoint *endpoint);

/// Number of malloc/calloc/realloc/posix_memalign/aligned_alloc/memalign calls so far, in this process.
long bench_allocation_count(void);
