/* AVX-512 VNNI kernels for int8 activations (vpdpbusd: u8 weights × s8 activations);
 * the activation layouts are in q8_layout.h.
 *
 * Groups of 16 blocks (the grouped layout): the 16 blocks' weights are loaded four blocks
 * per zmm and transposed (4 × 4 dwords per 128-bit lane) so vector j holds bytes
 * [4j, 4j + 4) of every block; eight vpdpbusd then leave each block's integer dot in one
 * lane, and the scales d_w·d_x, the conversion and the FMA run once per 16 blocks and
 * activation row (vs once per 2 blocks with 8 lanes per block). Q4: q (0..15) as u8;
 * Q4_0's −8·Σxq and Q8_0's (weights biased to u8 by +128) −128·Σxq start the integer
 * accumulator (exact); Q4_1's m·s enters as one FMA per group. The last blocks % 16
 * blocks go two per zmm (plain layout): Q8_0 as |w| against sign(w)·xq, the Q4 offsets as
 * Σ_k offset_k · s_k after the loop.
 *
 * This kernel reads the GGUF layout as loaded; weights re-laid-out once as row tiles
 * (ckernels_vnni_tiles.c) run faster and are the default in q8 mode. */
#include "ckernels.h"
#include "q8_layout.h"
#include "specialize.h"

#include <immintrin.h>

#define VNNI Q8_VNNI
#define INLINE Q8_INLINE

typedef struct {
    __m512i nib_idx, scale_idx;   /* vpermb sources: n0 n0 n1 n1; the f16 scales in front */
    __mmask64 pair_mask, one_mask;
} q4_pair_plan;

INLINE VNNI q4_pair_plan make_plan(int format, int bb) {
    uint8_t ni[64], si[64];
    const int no = format == 1 ? 4 : 2;
    for (int i = 0; i < 64; i++) {
        ni[i] = (uint8_t)((i >= 32 ? bb : 0) + no + (i & 15));
        si[i] = 63;   /* a masked-off (zero) byte */
    }
    /* Q4_1: d0 m0 d1 m1 = bytes 0–3, bb…bb+3; Q4_0: d0 d1 = bytes 0–1, bb, bb+1. */
    const int per = format == 1 ? 4 : 2;
    for (int i = 0; i < per; i++) { si[i] = (uint8_t)i; si[per + i] = (uint8_t)(bb + i); }
    q4_pair_plan p;
    p.nib_idx = _mm512_loadu_si512(ni);
    p.scale_idx = _mm512_loadu_si512(si);
    p.pair_mask = ((__mmask64)1 << (2 * bb)) - 1;
    p.one_mask = ((__mmask64)1 << bb) - 1;
    return p;
}

/* Blocks k, k+1 (the second only when `two`) at blk: u8 weights in q[0..32) order per
 * block (*w), the sign mask of Q8_0's weights (*neg), the scales as floats (*f: Q4_1
 * d0 m0 d1 m1, others d0 d1), and the offsets into offs[0..2) (Q4). */
INLINE VNNI void decode_pair(int format, int bb, const q4_pair_plan *plan, const uint8_t *blk, int two,
                             __m512i *w, __mmask64 *neg, __m128 *f, float *offs) {
    if (format == 2) {
        uint16_t h0, h1 = 0;
        __builtin_memcpy(&h0, blk, 2);
        if (two) __builtin_memcpy(&h1, blk + bb, 2);
        *f = _mm_cvtph_ps(_mm_cvtsi32_si128((int)h0 | (int)h1 << 16));
        __m256i w0 = _mm256_loadu_si256((const __m256i *)(blk + 2));
        __m256i w1 = two ? _mm256_loadu_si256((const __m256i *)(blk + bb + 2)) : _mm256_setzero_si256();
        __m512i wz = _mm512_inserti64x4(_mm512_castsi256_si512(w0), w1, 1);
        *neg = _mm512_movepi8_mask(wz);
        *w = _mm512_abs_epi8(wz);
        return;
    }
    /* Both blocks (36 or 40 bytes) in one masked load: nothing read past the data. */
    const __m512i raw = _mm512_maskz_loadu_epi8(two ? plan->pair_mask : plan->one_mask, blk);
    const __m512i z = _mm512_permutexvar_epi8(plan->nib_idx, raw);
    *w = _mm512_and_si512(_mm512_mask_srli_epi16(z, 0xFF00FF00u, z, 4), _mm512_set1_epi8(15));
    *f = _mm_cvtph_ps(_mm512_castsi512_si128(_mm512_permutexvar_epi8(plan->scale_idx, raw)));
    if (format == 1) _mm_storel_pi((__m64 *)offs, _mm_shuffle_ps(*f, *f, _MM_SHUFFLE(3, 1, 3, 1)));
    else _mm_storel_pi((__m64 *)offs, _mm_mul_ps(*f, _mm_set1_ps(-8.0f)));
}

/* y[r · ys + o] = Σ lanes of acc[r], r < n: four rows reduced together (14 ops for four
 * instead of ~8 each). */
INLINE VNNI void store_sums(const __m512 *acc, int n, float *y, size_t ys, int o) {
    const __m512 zero = _mm512_setzero_ps();
    const __m512i first = _mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 12, 8, 4, 0);
    for (int r = 0; r < n; r += 4) {
        __m512 a0 = acc[r], a1 = r + 1 < n ? acc[r + 1] : zero;
        __m512 a2 = r + 2 < n ? acc[r + 2] : zero, a3 = r + 3 < n ? acc[r + 3] : zero;
        __m512 t01 = _mm512_add_ps(_mm512_shuffle_f32x4(a0, a1, _MM_SHUFFLE(1, 0, 1, 0)),
                                   _mm512_shuffle_f32x4(a0, a1, _MM_SHUFFLE(3, 2, 3, 2)));
        __m512 t23 = _mm512_add_ps(_mm512_shuffle_f32x4(a2, a3, _MM_SHUFFLE(1, 0, 1, 0)),
                                   _mm512_shuffle_f32x4(a2, a3, _MM_SHUFFLE(3, 2, 3, 2)));
        __m512 u = _mm512_add_ps(_mm512_shuffle_f32x4(t01, t23, _MM_SHUFFLE(2, 0, 2, 0)),
                                 _mm512_shuffle_f32x4(t01, t23, _MM_SHUFFLE(3, 1, 3, 1)));   /* a0 a1 a2 a3 */
        u = _mm512_add_ps(u, _mm512_permute_ps(u, _MM_SHUFFLE(2, 3, 0, 1)));
        u = _mm512_add_ps(u, _mm512_permute_ps(u, _MM_SHUFFLE(1, 0, 3, 2)));
        float s[4];
        _mm_storeu_ps(s, _mm512_castps512_ps128(_mm512_permutexvar_ps(first, u)));
        for (int i = 0; i < 4 && r + i < n; i++) y[(r + i) * ys + o] = s[i];
    }
}

/* acc[r] += the row's last `tail` (< 16) blocks at blk against the plain-layout activation
 * tail at tact (row r at tact + r · as), r < n: two blocks per zmm; Q8_0 as |w| against
 * sign(w)·xq, the Q4 offsets as Σ_k offset_k · s_k after the loop. */
INLINE VNNI void vnni_tail(int format, int bb, const q4_pair_plan *plan, const uint8_t *blk, int tail,
                                 const uint8_t *tact, size_t as, int n, __m512 *acc) {
    const __m512i zero = _mm512_setzero_si512();
    const int d1 = format == 1 ? 2 : 1, tq = q8_pad4(tail);
    const __m512i pair_lanes = _mm512_set_epi32(d1, d1, d1, d1, d1, d1, d1, d1, 0, 0, 0, 0, 0, 0, 0, 0);
    const uint8_t *txd8 = tact + plain_xd8(tq), *ts0 = tact + plain_s(tq);
    float offs[16];   /* [16] per-block offsets of the tail blocks (zero past them) */
    _mm512_storeu_ps(offs, _mm512_setzero_ps());
    for (int k = 0; k < tail; k += 2, blk += 2 * bb) {   /* the tail, two blocks at a time */
        const int two = k + 1 < tail;
        __m512i w;
        __mmask64 neg = 0;
        __m128 f;
        decode_pair(format, bb, plan, blk, two, &w, &neg, &f, offs + k);
        const __m512 dw = _mm512_permutexvar_ps(pair_lanes, _mm512_castps128_ps512(f));
        for (int r = 0; r < n; r++) {
            __m512i xq = _mm512_loadu_si512((const void *)(tact + r * as + (size_t)k * 32));
            if (format == 2) xq = _mm512_mask_sub_epi8(xq, neg, zero, xq);
            __m512i dot = _mm512_dpbusd_epi32(zero, w, xq);
            __m512 sc = _mm512_mul_ps(dw, _mm512_loadu_ps((const float *)(txd8 + r * as) + (size_t)k * 8));
            acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), sc, acc[r]);
        }
    }
    if (format != 2 && tail) {
        for (int r = 0; r < n; r++)   /* plain_s pads to 16 */
            acc[r] = _mm512_fmadd_ps(_mm512_loadu_ps(offs), _mm512_loadu_ps((const float *)(ts0 + r * as)), acc[r]);
    }
}

/* Four blocks' 16 bytes at p, p + stride, … as the four 128-bit lanes of one zmm. */
INLINE VNNI __m512i load4(const uint8_t *p, int stride) {
    __m512i z = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)p));
    z = _mm512_inserti32x4(z, _mm_loadu_si128((const __m128i *)(p + stride)), 1);
    z = _mm512_inserti32x4(z, _mm_loadu_si128((const __m128i *)(p + 2 * stride)), 2);
    return _mm512_inserti32x4(z, _mm_loadu_si128((const __m128i *)(p + 3 * stride)), 3);
}

/* Dword j of the 16 bytes at +off of each of 16 blocks, in q8_perm order: g[j], j < 4. */
INLINE VNNI void transpose16(const uint8_t *blk, int bb, int off, __m512i g[4]) {
    const __m512i z0 = load4(blk + off, bb), z1 = load4(blk + 4 * bb + off, bb);
    const __m512i z2 = load4(blk + 8 * bb + off, bb), z3 = load4(blk + 12 * bb + off, bb);
    const __m512i t0 = _mm512_unpacklo_epi32(z0, z1), t1 = _mm512_unpackhi_epi32(z0, z1);
    const __m512i t2 = _mm512_unpacklo_epi32(z2, z3), t3 = _mm512_unpackhi_epi32(z2, z3);
    g[0] = _mm512_unpacklo_epi64(t0, t2);
    g[1] = _mm512_unpackhi_epi64(t0, t2);
    g[2] = _mm512_unpacklo_epi64(t1, t3);
    g[3] = _mm512_unpackhi_epi64(t1, t3);
}

/* w[0..8) (vector j: bytes [4j, 4j + 4) of the 16 blocks, q8_perm order, as u8), the scales
 * dw and Q4_1's minimums mw of the 16-block group at blk, transposed and gathered. */
INLINE VNNI void decode_group(int format, int bb, const uint8_t *blk, __m512i gather_at,
                              __m512i w[8], __m512 *dw, __m512 *mw) {
    const __m512i low4 = _mm512_set1_epi8(15);
    if (format == 2) {
        transpose16(blk, bb, 2, w);
        transpose16(blk, bb, 18, w + 4);
        for (int j = 0; j < 8; j++) w[j] = _mm512_xor_si512(w[j], _mm512_set1_epi8((char)0x80));
    } else {
        transpose16(blk, bb, format == 1 ? 4 : 2, w);
    }
    const __m512i dm = _mm512_i32gather_epi32(gather_at, (const void *)blk, 1);
    *dw = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(dm));
    if (format == 1) *mw = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(dm, 16)));
    if (format != 2) {
        for (int j = 0; j < 4; j++) {   /* nibbles: low = bytes' q[4j..], high = q[16 + 4j..] */
            w[j + 4] = _mm512_and_si512(_mm512_srli_epi32(w[j], 4), low4);
            w[j] = _mm512_and_si512(w[j], low4);
        }
    }
}

/* Two accumulator chains per activation row below `chains2` rows hide vpdpbusd's latency
 * (the integer sums are exact either way). */
INLINE VNNI void q8_rows_vnni_n(int format, int bb, const uint8_t *data, size_t row_bytes, int blocks,
                                int lo, int hi, const uint8_t *act, size_t as, int n, float *y, size_t ys) {
    const ck_prefetch pf = weight_prefetch(n);
    const int groups = blocks / 16, tail = blocks % 16, chains2 = 3;
    const q4_pair_plan plan = make_plan(format, bb);
    const __m512i zero = _mm512_setzero_si512();
    __m512i gather_at;   /* byte offset of the block at each q8_perm position */
    {
        int32_t at[16];
        for (int b = 0; b < 16; b++) at[q8_perm(b)] = b * bb;
        gather_at = _mm512_loadu_si512(at);
    }
    const uint8_t *dxg = act + (size_t)groups * 512, *sg = act + (size_t)groups * 576;
    const uint8_t *cg = act + (size_t)groups * (format == 2 ? 704 : 640);
    const uint8_t *tact = act + grouped_tail(groups);
    for (int o = lo; o < hi; o++) {
        __m512 acc[8];
        for (int r = 0; r < n; r++) acc[r] = _mm512_setzero_ps();
        const uint8_t *blk = data + (size_t)o * row_bytes;
        for (int g = 0; g < groups; g++, blk += 16 * bb) {
            if (pf.bytes) prefetch_lines((const char *)blk + pf.bytes, 16 * bb, pf);
            __m512i w[8];
            __m512 dw, mw = _mm512_setzero_ps();
            decode_group(format, bb, blk, gather_at, w, &dw, &mw);
            for (int r = 0; r < n; r++) {
                const uint8_t *xr = act + r * as + (size_t)g * 512;
                __m512i a0 = format == 1 ? zero : _mm512_loadu_si512((const void *)(cg + r * as + (size_t)g * 64));
                __m512i a1 = zero;
                for (int j = 0; j < 8; j += 2) {
                    a0 = _mm512_dpbusd_epi32(a0, w[j], _mm512_loadu_si512((const void *)(xr + j * 64)));
                    if (n < chains2) a1 = _mm512_dpbusd_epi32(a1, w[j + 1], _mm512_loadu_si512((const void *)(xr + j * 64 + 64)));
                    else a0 = _mm512_dpbusd_epi32(a0, w[j + 1], _mm512_loadu_si512((const void *)(xr + j * 64 + 64)));
                }
                const __m512 sc = _mm512_mul_ps(dw, _mm512_loadu_ps((const float *)(dxg + r * as) + g * 16));
                acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(n < chains2 ? _mm512_add_epi32(a0, a1) : a0), sc, acc[r]);
                if (format == 1) acc[r] = _mm512_fmadd_ps(mw, _mm512_loadu_ps((const float *)(sg + r * as) + g * 16), acc[r]);
            }
        }
        if (tail) vnni_tail(format, bb, &plan, blk, tail, tact, as, n, acc);
        if (n == 1) y[o] = _mm512_reduce_add_ps(acc[0]);
        else store_sums(acc, n, y, ys, o);
    }
}

SPECIALIZE_ROWS(, q8_rows_vnni, q8_rows_vnni_n, VNNI, uint8_t)

/* Register-resident vpdpbusd throughput: 12 independent accumulators (latency 5 × up to two
 * ports) for `iterations` rounds; returns a value the caller keeps so nothing is elided.
 * 12 · 64 multiply-adds per round. Only when ck_vnni_available(). */
VNNI int ck_vnni_peak_loop(long iterations) {
    __m512i a[12];
    for (int i = 0; i < 12; i++) a[i] = _mm512_set1_epi32(i);
    __m512i w = _mm512_set1_epi32(0x01020304), x = _mm512_set1_epi32(0x05060708);
    for (long k = 0; k < iterations; k++) {
        __asm__ volatile("" : "+v"(w));   /* an unknown operand each round: no hoisting */
        for (int i = 0; i < 12; i++) a[i] = _mm512_dpbusd_epi32(a[i], w, x);
    }
    __m512i s = a[0];
    for (int i = 1; i < 12; i++) s = _mm512_add_epi32(s, a[i]);
    return _mm512_reduce_add_epi32(s);
}
