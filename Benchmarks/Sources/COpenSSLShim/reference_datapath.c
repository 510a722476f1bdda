// The per-packet work of the C reference data path (../shared/reference/pptp_toy.c: tx_build, put_gre, rx_handle),
// rewritten minimally for in-process measurement: one endpoint's encapsulation (PPP 0x00FD, MPPE header, RC4 of
// [0x0021 + IP packet], 16-byte enhanced GRE header with sequence and acknowledgment) and decapsulation (GRE checks,
// Call ID, sequence bookkeeping, MPPE coherency and rekeying, RC4, inner protocol check).
//
// Differences from pptp_toy.c, all in the reference's favour or neutral: no TUN, socket or threads; plain variables
// instead of relaxed atomics (one thread owns the endpoint here); decapsulation starts at the GRE header (the raw
// socket's IP header is not parsed) so that it does the same work as TunnelSession.receiveGRE; a stateful gap drops
// the packet without sending a CCP Reset-Request (the benchmark never loses packets).
#define _GNU_SOURCE
#include "COpenSSLShim.h"

#include <arpa/inet.h>
#include <openssl/rc4.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "rc4_sha1.h"

typedef struct {
    RC4_KEY openssl;
    rc4_t plain;
    uint8_t master[16], session[16];
} reference_mppe;

struct bench_reference_endpoint {
    int impl;       // BENCH_OPENSSL, BENCH_PLAIN_C or BENCH_NO_CRYPTO
    int stateless;
    uint16_t my_call_id, peer_call_id;
    uint32_t gre_sequence, last_received_sequence;
    int have_received;
    unsigned tx_count, rx_count;  // 12-bit coherency counts
    int rx_discard;
    reference_mppe tx, rx;
    long dropped, bad, out_of_order;
};

static const uint8_t reference_pad1[40] = {0};
static const uint8_t reference_pad2[40] = {
    0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2,
    0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2, 0xF2,
};

static void reference_set_key(const bench_reference_endpoint *e, reference_mppe *m) {
    if (e->impl == BENCH_OPENSSL) RC4_set_key(&m->openssl, 16, m->session);
    else if (e->impl == BENCH_PLAIN_C) rc4_setkey(&m->plain, m->session, 16);
}

static void reference_crypt(const bench_reference_endpoint *e, reference_mppe *m, uint8_t *buffer, size_t count) {
    if (e->impl == BENCH_OPENSSL) RC4(&m->openssl, count, buffer, buffer);
    else if (e->impl == BENCH_PLAIN_C) rc4_crypt(&m->plain, buffer, count);
}

// RFC 3078 §7.3 / RFC 3079 GetNewKeyFromSHA, 128-bit, as pptp_toy.c's m_rekey.
static void reference_rekey(const bench_reference_endpoint *e, reference_mppe *m) {
    uint8_t digest[20];
    if (e->impl == BENCH_OPENSSL) {
        SHA_CTX c;
        SHA1_Init(&c);
        SHA1_Update(&c, m->master, 16);
        SHA1_Update(&c, reference_pad1, 40);
        SHA1_Update(&c, m->session, 16);
        SHA1_Update(&c, reference_pad2, 40);
        SHA1_Final(digest, &c);
        RC4_KEY interim;
        RC4_set_key(&interim, 16, digest);
        RC4(&interim, 16, digest, m->session);
    } else if (e->impl == BENCH_PLAIN_C) {
        sha1_t c;
        sha1_init(&c);
        sha1_update(&c, m->master, 16);
        sha1_update(&c, reference_pad1, 40);
        sha1_update(&c, m->session, 16);
        sha1_update(&c, reference_pad2, 40);
        sha1_final(&c, digest);
        rc4_t interim;
        rc4_setkey(&interim, digest, 16);
        memcpy(m->session, digest, 16);
        rc4_crypt(&interim, m->session, 16);
    } else {
        return;
    }
    reference_set_key(e, m);
}

static void reference_init_key(const bench_reference_endpoint *e, reference_mppe *m, uint8_t seed) {
    for (int i = 0; i < 16; i++) m->master[i] = (uint8_t)(seed + i * 29);
    memcpy(m->session, m->master, 16);
    reference_set_key(e, m);
}

bench_reference_endpoint *bench_reference_new(int impl, int stateless, int role_a) {
    bench_reference_endpoint *e = calloc(1, sizeof *e);
    e->impl = impl;
    e->stateless = stateless;
    reference_init_key(e, &e->tx, role_a ? 0x11 : 0x77);
    reference_init_key(e, &e->rx, role_a ? 0x77 : 0x11);
    e->my_call_id = role_a ? 0xA0A0 : 0xB0B0;
    e->peer_call_id = role_a ? 0xB0B0 : 0xA0A0;
    return e;
}

void bench_reference_free(bench_reference_endpoint *e) { free(e); }

long bench_reference_dropped(const bench_reference_endpoint *e) { return e->dropped + e->bad; }

// pptp_toy.c tx_build + put_gre: the IP packet is at buffer + BENCH_REFERENCE_HEADROOM.
size_t bench_reference_encapsulate(bench_reference_endpoint *e, uint8_t *buffer, size_t count) {
    e->tx_count = (e->tx_count + 1) & 0xFFF;
    int flushed = 0;
    if (e->stateless || (e->tx_count & 0xFF) == 0xFF) {
        reference_rekey(e, &e->tx);
        flushed = 1;
    }
    buffer[16] = 0x00;
    buffer[17] = 0xFD;
    buffer[18] = (uint8_t)((flushed ? 0x80 : 0) | 0x10 | (e->tx_count >> 8));
    buffer[19] = (uint8_t)(e->tx_count & 0xFF);
    buffer[20] = 0x00;
    buffer[21] = 0x21;
    reference_crypt(e, &e->tx, buffer + 20, count + 2);
    unsigned payload = (unsigned)count + 6;
    buffer[0] = 0x30;
    buffer[1] = 0x81;
    buffer[2] = 0x88;
    buffer[3] = 0x0B;
    buffer[4] = (uint8_t)(payload >> 8);
    buffer[5] = (uint8_t)payload;
    buffer[6] = (uint8_t)(e->peer_call_id >> 8);
    buffer[7] = (uint8_t)e->peer_call_id;
    uint32_t s = htonl(e->gre_sequence++);
    memcpy(buffer + 8, &s, 4);
    uint32_t a = htonl(e->last_received_sequence);
    memcpy(buffer + 12, &a, 4);
    return count + BENCH_REFERENCE_HEADROOM;
}

// pptp_toy.c rx_handle from the GRE header on. Returns the offset of the IP packet in `gre` and its length in
// *out_length, or -1 when the packet is dropped.
long bench_reference_decapsulate(bench_reference_endpoint *e, uint8_t *g, size_t gl, size_t *out_length) {
    if (gl < 8 || g[2] != 0x88 || g[3] != 0x0B || (g[1] & 7) != 1 || !(g[0] & 0x20)) {
        e->bad++;
        return -1;
    }
    unsigned cid = (unsigned)g[6] << 8 | g[7];
    if (cid != e->my_call_id) {
        e->bad++;
        return -1;
    }
    size_t off = 8;
    if (g[0] & 0x10) {
        uint32_t s;
        memcpy(&s, g + off, 4);
        s = ntohl(s);
        off += 4;
        if (e->have_received && (int32_t)(s - e->last_received_sequence) <= 0) e->out_of_order++;
        e->last_received_sequence = s;
        e->have_received = 1;
    }
    if (g[1] & 0x80) off += 4;
    unsigned payload = (unsigned)g[4] << 8 | g[5];
    if (off + payload > gl || payload < 4) {
        e->bad++;
        return -1;
    }
    uint8_t *p = g + off;
    unsigned proto = (unsigned)p[0] << 8 | p[1];
    if (proto != 0x00FD || payload < 6) {
        e->bad++;
        return -1;
    }
    unsigned cc = (unsigned)(p[2] & 0x0F) << 8 | p[3];
    int flushed = p[2] & 0x80;
    if (e->stateless) {
        unsigned d = (cc - e->rx_count) & 0xFFF;
        if (d == 0 || d > 2048) {
            e->dropped++;
            return -1;
        }
        for (unsigned k = 0; k < d; k++) reference_rekey(e, &e->rx);
        e->rx_count = cc;
    } else {
        unsigned expected = (e->rx_count + 1) & 0xFFF;
        if (cc != expected) {
            e->dropped++;
            return -1;
        }
        e->rx_count = cc;
        if ((cc & 0xFF) == 0xFF) reference_rekey(e, &e->rx);
        else if (flushed) reference_set_key(e, &e->rx);
    }
    reference_crypt(e, &e->rx, p + 4, payload - 4);
    if (p[4] != 0x00 || p[5] != 0x21) {
        e->bad++;
        return -1;
    }
    *out_length = payload - 6;
    return (long)(off + 6);
}
