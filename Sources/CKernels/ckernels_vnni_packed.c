/* VNNI kernels on weights re-laid-out once (ck_pack_vnni), for int8 activations in the
 * grouped layout (q8_layout.h).
 *
 * ckernels_vnni.c transposes every 16-block group on the fly: 16 128-bit loads, 8 unpacks
 * and a gather of the scales per group, shared by the activation rows but about half of
 * the kernel's work at 4 rows. Here that transpose is done once: a packed row keeps its
 * size and holds, per group of 16 blocks,
 *   nib  [4][64] u8   vector j = nibble bytes [4j, 4j + 4) of the 16 blocks in q8_perm order
 *   d    [16] f16     the blocks' scales, q8_perm order
 *   m    [16] f16     (Q4_1 only) the blocks' minimums, q8_perm order
 * (288 B for Q4_0, 320 B for Q4_1 = 16 blocks in either layout); Q8_0 (the LM head) as
 *   q    [8][64] u8   vector j = bytes [4j, 4j + 4) of the 16 blocks' q + 128, q8_perm order
 *   d    [16] f16
 * (544 B = 16 blocks). The last blocks % 16 blocks stay unchanged. A Q4 group is then 4
 * loads, 12 logic ops and 2 conversions; a Q8_0 group 8 loads and one conversion. */
#include "ckernels.h"
#include "q8_layout.h"
#include "specialize.h"

#include <immintrin.h>
#include <string.h>

#include "q8_vnni_tail.h"

#define VNNI Q8_VNNI
#define INLINE Q8_INLINE
#define PREFETCH Q8_PREFETCH
#ifndef CHAINS2
#define CHAINS2 5   /* two accumulator chains per activation row below this many rows (hides vpdpbusd latency) */
#endif

void ck_pack_vnni(int format, const uint8_t *src, size_t row_bytes, int blocks, int rows, uint8_t *dst) {
    const int bb = BLOCK_BYTES(format), scales = format == 1 ? 4 : 2, groups = blocks / 16;
    for (int r = 0; r < rows; r++) {
        const uint8_t *in = src + (size_t)r * row_bytes;
        uint8_t *out = dst + (size_t)r * row_bytes;
        for (int g = 0; g < groups; g++, in += 16 * bb, out += 16 * bb) {
            for (int b = 0; b < 16; b++) {
                const uint8_t *blk = in + b * bb;
                const int p = q8_perm(b);
                if (format == 2) {
                    for (int i = 0; i < 32; i++) out[64 * (i / 4) + 4 * p + i % 4] = blk[2 + i] ^ 0x80;
                    memcpy(out + 512 + 2 * p, blk, 2);
                    continue;
                }
                for (int j = 0; j < 4; j++)   /* vector j, lane p: nibble bytes 4j..4j+3 */
                    memcpy(out + 64 * j + 4 * p, blk + scales + 4 * j, 4);
                memcpy(out + 256 + 2 * p, blk, 2);
                if (format == 1) memcpy(out + 288 + 2 * p, blk + 2, 2);
            }
        }
        memcpy(out, in, (size_t)(blocks % 16) * bb);   /* the tail as it was */
    }
}

INLINE VNNI void rows_packed_n(int format, int bb, const uint8_t *data, size_t row_bytes, int blocks, int lo,
                                  int hi, const uint8_t *act, size_t as, int n, float *y, size_t ys) {
    const int groups = blocks / 16, tail = blocks % 16;
    const q4_pair_plan plan = make_plan(format, bb);
    const uint8_t *tact = act + grouped_tail(groups);
    const __m512i zero = _mm512_setzero_si512(), low4 = _mm512_set1_epi8(15);
    const uint8_t *dxg = act + (size_t)groups * 512, *sg = act + (size_t)groups * 576;
    const uint8_t *cg = act + (size_t)groups * (format == 2 ? 704 : 640);
    const int scale_at = format == 2 ? 512 : 256;
    for (int o = lo; o < hi; o++) {
        __m512 acc[8];
        for (int r = 0; r < n; r++) acc[r] = _mm512_setzero_ps();
        const uint8_t *blk = data + (size_t)o * row_bytes;
        for (int g = 0; g < groups; g++, blk += 16 * bb) {
            for (int p = 0; p < 16 * bb; p += 64) _mm_prefetch((const char *)blk + PREFETCH + p, _MM_HINT_T0);
            __m512i w[8];
            if (format == 2) {
                for (int j = 0; j < 8; j++) w[j] = _mm512_loadu_si512((const void *)(blk + 64 * j));
            } else {
                for (int j = 0; j < 4; j++) {
                    const __m512i v = _mm512_loadu_si512((const void *)(blk + 64 * j));
                    w[j] = _mm512_and_si512(v, low4);
                    w[j + 4] = _mm512_and_si512(_mm512_srli_epi32(v, 4), low4);
                }
            }
            const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(blk + scale_at)));
            __m512 mw = _mm512_setzero_ps();
            if (format == 1) mw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(blk + 288)));
            for (int r = 0; r < n; r++) {
                const uint8_t *xr = act + r * as + (size_t)g * 512;
                __m512i a0 = format == 1 ? zero : _mm512_loadu_si512((const void *)(cg + r * as + (size_t)g * 64));
                __m512i a1 = zero;
                for (int j = 0; j < 8; j += 2) {
                    a0 = _mm512_dpbusd_epi32(a0, w[j], _mm512_loadu_si512((const void *)(xr + j * 64)));
                    if (n < CHAINS2) a1 = _mm512_dpbusd_epi32(a1, w[j + 1], _mm512_loadu_si512((const void *)(xr + j * 64 + 64)));
                    else a0 = _mm512_dpbusd_epi32(a0, w[j + 1], _mm512_loadu_si512((const void *)(xr + j * 64 + 64)));
                }
                const __m512 sc = _mm512_mul_ps(dw, _mm512_loadu_ps((const float *)(dxg + r * as) + g * 16));
                acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(n < CHAINS2 ? _mm512_add_epi32(a0, a1) : a0), sc, acc[r]);
                if (format == 1) acc[r] = _mm512_fmadd_ps(mw, _mm512_loadu_ps((const float *)(sg + r * as) + g * 16), acc[r]);
            }
        }
        if (tail) vnni_tail(format, bb, &plan, blk, tail, tact, as, n, acc);
        if (n == 1) y[o] = _mm512_reduce_add_ps(acc[0]);
        else store_sums(acc, n, y, ys, o);
    }
}

SPECIALIZE_ROWS(, ck_q8_rows_packed, rows_packed_n, VNNI, uint8_t)
