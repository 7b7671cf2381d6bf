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
 * Σ_k offset_k · s_k after the loop. */
#include "ckernels.h"
#include "q8_layout.h"
#include "specialize.h"

#include <immintrin.h>

#include "q8_vnni_tail.h"

#define VNNI Q8_VNNI
#define INLINE Q8_INLINE
#define PREFETCH Q8_PREFETCH

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

INLINE VNNI void q8_rows_vnni_n(int format, int bb, const uint8_t *data, size_t row_bytes, int blocks, int lo,
                                int hi, const uint8_t *act, size_t as, int n, float *y, size_t ys) {
    const int groups = blocks / 16, tail = blocks % 16;
    const q4_pair_plan plan = make_plan(format, bb);
    const __m512i zero = _mm512_setzero_si512(), low4 = _mm512_set1_epi8(15), bias = _mm512_set1_epi8((char)0x80);
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
            for (int p = 0; p < 16 * bb; p += 64) _mm_prefetch((const char *)blk + PREFETCH + p, _MM_HINT_T0);
            __m512i w[8];
            if (format == 2) {
                transpose16(blk, bb, 2, w);
                transpose16(blk, bb, 18, w + 4);
                for (int j = 0; j < 8; j++) w[j] = _mm512_xor_si512(w[j], bias);
            } else {
                transpose16(blk, bb, format == 1 ? 4 : 2, w);
                for (int j = 0; j < 4; j++) {
                    w[j + 4] = _mm512_and_si512(_mm512_srli_epi32(w[j], 4), low4);
                    w[j] = _mm512_and_si512(w[j], low4);
                }
            }
            const __m512i dm = _mm512_i32gather_epi32(gather_at, (const void *)blk, 1);
            const __m512 dw = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(dm));
            __m512 mw = _mm512_setzero_ps();
            if (format == 1) mw = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(dm, 16)));
            for (int r = 0; r < n; r++) {
                const uint8_t *xr = act + r * as + (size_t)g * 512;
                __m512i a0 = format == 1 ? zero : _mm512_loadu_si512((const void *)(cg + r * as + (size_t)g * 64));
                __m512i a1 = zero;   /* a second chain only when few rows hide the latency */
                for (int j = 0; j < 8; j += 2) {
                    a0 = _mm512_dpbusd_epi32(a0, w[j], _mm512_loadu_si512((const void *)(xr + j * 64)));
                    if (n < 3) a1 = _mm512_dpbusd_epi32(a1, w[j + 1], _mm512_loadu_si512((const void *)(xr + j * 64 + 64)));
                    else a0 = _mm512_dpbusd_epi32(a0, w[j + 1], _mm512_loadu_si512((const void *)(xr + j * 64 + 64)));
                }
                const __m512 sc = _mm512_mul_ps(dw, _mm512_loadu_ps((const float *)(dxg + r * as) + g * 16));
                acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(n < 3 ? _mm512_add_epi32(a0, a1) : a0), sc, acc[r]);
                if (format == 1) acc[r] = _mm512_fmadd_ps(mw, _mm512_loadu_ps((const float *)(sg + r * as) + g * 16), acc[r]);
            }
        }
        if (tail) vnni_tail(format, bb, &plan, blk, tail, tact, as, n, acc);
        if (n == 1) y[o] = _mm512_reduce_add_ps(acc[0]);
        else store_sums(acc, n, y, ys, o);
    }
}

SPECIALIZE_ROWS(, q8_rows_vnni, q8_rows_vnni_n, VNNI, uint8_t)
