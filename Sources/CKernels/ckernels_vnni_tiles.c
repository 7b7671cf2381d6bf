/* Row tiles: weights re-laid-out once so that one zmm lane is one output row (AVX-512 VNNI,
 * int8 activations).
 *
 * The group kernel (ckernels_vnni.c) gives each lane one block of one row: every output
 * row ends in a 16-lane reduction, and a row whose block count is not a multiple of 16
 * (SmolLM2's 576 columns: 18 blocks) runs its last blocks two per zmm. Here the 16 lanes
 * are 16 rows, a block's 4-byte activation groups are broadcast, and the 16 results leave
 * in one store: no reductions, no tail, any block count. A tile of 16 rows holds, per block k,
 *   q    [4][64] u8   vector j, lane i = quant bytes [4j, 4j + 4) of row i's block k
 *                     (Q4: low nibbles = weights 4j…4j+3, high nibbles = 16+4j…)
 *   d    [16] f16     the 16 rows' scales
 *   m    [16] f16     (Q4_1 only) their minimums
 * (Q8_0: q [8][64], the quants biased to u8 by +128, then d) — 16 blocks' bytes, so a
 * matrix keeps its size; a last partial tile is padded with zero rows.
 *
 * Activations: the lanes layout of ck_q8_quantize (q8_layout.h). Per row r and block k:
 *   I = Σ_j vpdpbusd(w_j, broadcast(xq[4j…4j+4)))  (+ c: −8·Σxq for Q4_0, −128·Σxq for Q8_0)
 *   acc += float(I) · (d · dx_k);  Q4_1: accm += m · s_k  (s = dx · Σxq)
 * The same terms as the group kernel, summed block by block per lane instead of per lane
 * and then across lanes: equal up to float rounding. */
#include "ckernels.h"
#include "q8_layout.h"
#include "specialize.h"

#include <immintrin.h>
#include <string.h>

#define VNNI Q8_VNNI
#define INLINE Q8_INLINE

size_t ck_tiles_bytes(int format, int blocks, int rows) {
    return (size_t)(rows + 15) / 16 * (size_t)blocks * 16 * BLOCK_BYTES(format);
}

void ck_pack_tiles(int format, const uint8_t *src, size_t row_bytes, int blocks, int rows, uint8_t *dst) {
    const int bb = BLOCK_BYTES(format), scales = format == 1 ? 4 : 2, qv = format == 2 ? 8 : 4;
    const size_t tb = (size_t)16 * bb;   /* one block of one tile */
    memset(dst, 0, ck_tiles_bytes(format, blocks, rows));
    for (int r = 0; r < rows; r++) {
        const int lane = r % 16;
        uint8_t *tile = dst + (size_t)(r / 16) * blocks * tb;
        for (int k = 0; k < blocks; k++) {
            const uint8_t *blk = src + (size_t)r * row_bytes + (size_t)k * bb;
            uint8_t *out = tile + (size_t)k * tb;
            for (int j = 0; j < qv; j++)
                for (int i = 0; i < 4; i++) {
                    const uint8_t q = blk[scales + 4 * j + i];
                    out[64 * j + 4 * lane + i] = format == 2 ? q ^ 0x80 : q;
                }
            memcpy(out + 64 * qv + 2 * lane, blk, 2);
            if (format == 1) memcpy(out + 64 * qv + 32 + 2 * lane, blk + 2, 2);
        }
    }
}

/* Rows [lo, hi) (lo a multiple of 16) for n activation rows: tiles lo/16 … */
INLINE VNNI void tile_rows(int format, int bb, const uint8_t *data, size_t unused, int blocks, int lo, int hi,
                           const uint8_t *act, size_t as, int n, float *y, size_t ys) {
    const ck_prefetch pf = weight_prefetch(n);
    (void)unused;
    const size_t tb = (size_t)16 * bb;
    const int qv = format == 2 ? 8 : 4, chains = n <= 4 ? 2 : 1;
    const __m512i low4 = _mm512_set1_epi8(15), zero = _mm512_setzero_si512();
    for (int o = lo; o < hi; o += 16) {
        const uint8_t *p = data + (size_t)(o / 16) * blocks * tb;
        __m512 acc[8], accm[8];
        for (int r = 0; r < n; r++) { acc[r] = _mm512_setzero_ps(); accm[r] = _mm512_setzero_ps(); }
        for (int k = 0; k < blocks; k++, p += tb) {
            if (pf.bytes) prefetch_lines((const char *)p + pf.bytes, (int)tb, pf);
            __m512i w[8];
            for (int j = 0; j < qv; j++) w[j] = _mm512_loadu_si512((const void *)(p + 64 * j));
            if (format != 2)
                for (int j = 0; j < 4; j++) {
                    w[j + 4] = _mm512_and_si512(_mm512_srli_epi16(w[j], 4), low4);
                    w[j] = _mm512_and_si512(w[j], low4);
                }
            const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p + 64 * qv)));
            const __m512 mw = format == 1 ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p + 64 * qv + 32)))
                                          : _mm512_setzero_ps();
            for (int r = 0; r < n; r++) {
                const uint8_t *row = act + r * as;
                const uint8_t *xq = row + (size_t)k * 32;
                const float *dx = (const float *)(row + lanes_dx(blocks));
                __m512i i0 = format == 1 ? zero
                             : _mm512_set1_epi32(((const int32_t *)(row + (format == 0 ? lanes_c8(blocks) : lanes_c128(blocks))))[k]);
                __m512i i1 = zero;
                for (int j = 0; j < 8; j++) {
                    int32_t x4;
                    memcpy(&x4, xq + 4 * j, 4);
                    if (chains == 2 && (j & 1)) i1 = _mm512_dpbusd_epi32(i1, w[j], _mm512_set1_epi32(x4));
                    else i0 = _mm512_dpbusd_epi32(i0, w[j], _mm512_set1_epi32(x4));
                }
                if (chains == 2) i0 = _mm512_add_epi32(i0, i1);
                acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i0), _mm512_mul_ps(dw, _mm512_set1_ps(dx[k])), acc[r]);
                if (format == 1) {
                    const float *s = (const float *)(row + lanes_s(blocks));
                    accm[r] = _mm512_fmadd_ps(mw, _mm512_set1_ps(s[k]), accm[r]);
                }
            }
        }
        const __mmask16 valid = hi - o >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (hi - o)) - 1);
        for (int r = 0; r < n; r++) {
            const __m512 v = format == 1 ? _mm512_add_ps(acc[r], accm[r]) : acc[r];
            _mm512_mask_storeu_ps(y + r * ys + o, valid, v);
        }
    }
}

SPECIALIZE_ROWS(, ck_q8_tiles, tile_rows, VNNI, uint8_t)
