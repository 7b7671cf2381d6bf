/* Int8-activation dot kernels (q8 mode: the default of sprig search/bench on quantized weights): activations quantized to
 * Q8 blocks of 32 (per-block f32 scale), products formed with integer instructions as
 * llama.cpp does for Q4/Q8 weights. Quantization, the AVX2 kernels and the dispatch; the
 * VNNI kernels are in ckernels_vnni.c, the activation layouts in q8_layout.h. */
#include "ckernels.h"
#include "q8_layout.h"
#include "specialize.h"

#include <cpuid.h>
#include <immintrin.h>

#include "exp_lanes.h"

#define AVX2 Q8_AVX2
#define INLINE Q8_INLINE
/* AVX-512 F/BW/VL (ck_avx512_available()): the 16-lane SiLU and lanes-layout quantizer. */
#define A512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))

int ck_q8_grouped(int vnni, int format) { return vnni || format != 2; }

size_t ck_q8_row_bytes(int blocks) {
    size_t bytes = plain_bytes(blocks);
    if (grouped_bytes(blocks) > bytes) bytes = grouped_bytes(blocks);
    if (lanes_bytes(blocks) > bytes) bytes = lanes_bytes(blocks);
    return (bytes + 63) & ~(size_t)63;
}

int ck_vnni_available(void) {
    if (!ck_avx512_available()) return 0;
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return ((c >> 11) & 1) && ((c >> 1) & 1);   /* AVX512_VNNI and AVX512_VBMI (vpermb) */
}

/* One block: dx = max|x| / 127, xq = round-to-nearest-even(x · (1/dx)) clamped to ±127
 * (0 when dx = 0); returns Σxq. Every step is one IEEE operation (the scalar reference
 * in the tests reproduces it bit for bit). */
INLINE AVX2 int quantize_block(const float *xb, int8_t *xq, float *dx_out) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 v[4], m = _mm256_setzero_ps();
    for (int i = 0; i < 4; i++) {
        v[i] = _mm256_loadu_ps(xb + 8 * i);
        m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v[i]));
    }
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    const float amax = _mm_cvtss_f32(h);
    const float dx = amax / 127.0f, id = dx != 0 ? 1.0f / dx : 0.0f;
    const __m256 idv = _mm256_set1_ps(id), hi = _mm256_set1_ps(127.0f), lo = _mm256_set1_ps(-127.0f);
    __m256i q[4], sum = _mm256_setzero_si256();
    for (int i = 0; i < 4; i++) {
        __m256 r = _mm256_round_ps(_mm256_mul_ps(v[i], idv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        q[i] = _mm256_cvtps_epi32(_mm256_min_ps(hi, _mm256_max_ps(lo, r)));
        sum = _mm256_add_epi32(sum, q[i]);
    }
    /* int32 → int8 in order: the packs interleave 128-bit lanes, the permute undoes it. */
    __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
    p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)xq, p);
    __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, _MM_SHUFFLE(1, 0, 3, 2)));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, _MM_SHUFFLE(2, 3, 0, 1)));
    *dx_out = dx;
    return _mm_cvtsi128_si32(s4);
}

/* silu(g) · u = g / (1 + e^−g) · u per lane (the MLP's gate). */
INLINE AVX2 __m256 silu_mul8(__m256 g, __m256 u) {
    const __m256 e = exp8(_mm256_xor_ps(g, _mm256_set1_ps(-0.0f)));
    return _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.f), e)), u);
}

INLINE A512 __m512 silu_mul16(__m512 g, __m512 u) {
    const __m512 e = exp16(_mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(g), _mm512_set1_epi32(INT32_MIN))));
    return _mm512_mul_ps(_mm512_div_ps(g, _mm512_add_ps(_mm512_set1_ps(1.f), e)), u);
}

static A512 void silu_rows_512(const float *gate_up, int rows, int inter, float *out) {
    for (int r = 0; r < rows; r++) {
        const float *g = gate_up + (size_t)r * 2 * inter, *u = g + inter;
        float *o = out + (size_t)r * inter;
        int i = 0;
        for (; i + 16 <= inter; i += 16) _mm512_storeu_ps(o + i, silu_mul16(_mm512_loadu_ps(g + i), _mm512_loadu_ps(u + i)));
        if (i < inter) {   /* the tail as one masked vector (lanes past the end: zero in, not stored) */
            const __mmask16 m = (__mmask16)((1u << (inter - i)) - 1);
            _mm512_mask_storeu_ps(o + i, m, silu_mul16(_mm512_maskz_loadu_ps(m, g + i), _mm512_maskz_loadu_ps(m, u + i)));
        }
    }
}

AVX2 void ck_silu_mul(const float *gate_up, int rows, int inter, float *out, int wide) {
    if (wide) {
        silu_rows_512(gate_up, rows, inter, out);
        return;
    }
    for (int r = 0; r < rows; r++) {
        const float *g = gate_up + (size_t)r * 2 * inter, *u = g + inter;
        float *o = out + (size_t)r * inter;
        int i = 0;
        for (; i + 8 <= inter; i += 8) _mm256_storeu_ps(o + i, silu_mul8(_mm256_loadu_ps(g + i), _mm256_loadu_ps(u + i)));
        if (i < inter) {   /* the tail as one vector: lanes past the end are zero in and not stored */
            float gt[8] = {0}, ut[8] = {0}, ot[8];
            for (int j = 0; i + j < inter; j++) { gt[j] = g[i + j]; ut[j] = u[i + j]; }
            _mm256_storeu_ps(ot, silu_mul8(_mm256_loadu_ps(gt), _mm256_loadu_ps(ut)));
            for (int j = 0; i + j < inter; j++) o[i + j] = ot[j];
        }
    }
}

/* 16 values × id rounded to nearest even, clamped to ±127, as int32 (exact conversions). */
INLINE A512 __m512i q8_round16(__m512 v, __m512 id) {
    const __m512 r = _mm512_roundscale_ps(_mm512_mul_ps(v, id), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    return _mm512_cvtps_epi32(_mm512_min_ps(_mm512_set1_ps(127.0f), _mm512_max_ps(_mm512_set1_ps(-127.0f), r)));
}

/* quantize_block on 16 lanes: the same IEEE steps (abs max, dx = amax / 127, round to
 * nearest even, clamp, exact conversions), so the same bytes; the lanes layout's row. */
INLINE A512 int quantize_block16(__m512 v0, __m512 v1, int8_t *xq, float *dx_out) {
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
    const float dx = amax / 127.0f, id = dx != 0 ? 1.0f / dx : 0.0f;
    const __m512i q0 = q8_round16(v0, _mm512_set1_ps(id)), q1 = q8_round16(v1, _mm512_set1_ps(id));
    _mm_storeu_si128((__m128i *)xq, _mm512_cvtepi32_epi8(q0));
    _mm_storeu_si128((__m128i *)(xq + 16), _mm512_cvtepi32_epi8(q1));
    *dx_out = dx;
    return _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
}

/* Sixteen 16-lane vectors into one whose lane j combines all of v[j]'s lanes (max, or
 * int32 add on the same bits), by 128-bit and 32-bit shuffles: 15 ops instead of 16 trees
 * of 8. The tree leaves lane j holding v[4·(j mod 4) + j / 4]: callers pass their blocks
 * in that order (q8_red_order) and get them back in block order. */
#define Q8_RED16(name, COMBINE)                                                                        \
    INLINE A512 __m512i name(const __m512i *v) {                                                       \
        __m512 l1[8], l2[4], l3[2];                                                                    \
        for (int i = 0; i < 8; i++) {                                                                  \
            const __m512 a = _mm512_castsi512_ps(v[2 * i]), b = _mm512_castsi512_ps(v[2 * i + 1]);    \
            l1[i] = COMBINE(_mm512_shuffle_f32x4(a, b, 0x44), _mm512_shuffle_f32x4(a, b, 0xEE));      \
        }                                                                                              \
        for (int i = 0; i < 4; i++)                                                                    \
            l2[i] = COMBINE(_mm512_shuffle_f32x4(l1[2 * i], l1[2 * i + 1], 0x88),                     \
                            _mm512_shuffle_f32x4(l1[2 * i], l1[2 * i + 1], 0xDD));                    \
        for (int i = 0; i < 2; i++)                                                                    \
            l3[i] = COMBINE(_mm512_shuffle_ps(l2[2 * i], l2[2 * i + 1], 0x44),                        \
                            _mm512_shuffle_ps(l2[2 * i], l2[2 * i + 1], 0xEE));                       \
        return _mm512_castps_si512(COMBINE(_mm512_shuffle_ps(l3[0], l3[1], 0x88), _mm512_shuffle_ps(l3[0], l3[1], 0xDD))); \
    }
#define Q8_MAXPS(a, b) _mm512_max_ps(a, b)
#define Q8_ADDI(a, b) _mm512_castsi512_ps(_mm512_add_epi32(_mm512_castps_si512(a), _mm512_castps_si512(b)))
Q8_RED16(red16_max, Q8_MAXPS)
Q8_RED16(red16_add, Q8_ADDI)
INLINE int q8_red_order(int j) { return 4 * (j & 3) + (j >> 2); }

/* 16 blocks of the lanes layout at once: the same IEEE steps as quantize_block16 (the
 * maxima and integer sums are exact in any order; dx = amax / 127 and 1 / dx are the same
 * divisions, 16 lanes at a time), so the same bytes. */
INLINE A512 void quantize_lanes16(const float *xr, uint8_t *row, float *dx, float *s, int32_t *c8, int32_t *c128) {
    __m512i am[16], sums[16];
    for (int j = 0; j < 16; j++) {
        const float *xb = xr + (size_t)q8_red_order(j) * 32;
        am[j] = _mm512_castps_si512(_mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(xb)), _mm512_abs_ps(_mm512_loadu_ps(xb + 16))));
    }
    const __m512 amax = _mm512_castsi512_ps(red16_max(am));
    const __m512 dxv = _mm512_div_ps(amax, _mm512_set1_ps(127.0f));
    const __m512 idv = _mm512_maskz_div_ps(_mm512_cmp_ps_mask(dxv, _mm512_setzero_ps(), _CMP_NEQ_UQ), _mm512_set1_ps(1.0f), dxv);
    float ids[16];
    _mm512_storeu_ps(ids, idv);
    _mm512_storeu_ps(dx, dxv);
    for (int j = 0; j < 16; j++) {
        const int b = q8_red_order(j);
        const float *xb = xr + (size_t)b * 32;
        const __m512 id = _mm512_set1_ps(ids[b]);
        const __m512i q0 = q8_round16(_mm512_loadu_ps(xb), id), q1 = q8_round16(_mm512_loadu_ps(xb + 16), id);
        _mm_storeu_si128((__m128i *)(row + (size_t)b * 32), _mm512_cvtepi32_epi8(q0));
        _mm_storeu_si128((__m128i *)(row + (size_t)b * 32 + 16), _mm512_cvtepi32_epi8(q1));
        sums[j] = _mm512_add_epi32(q0, q1);
    }
    const __m512i sum = red16_add(sums);
    _mm512_storeu_ps(s, _mm512_mul_ps(dxv, _mm512_cvtepi32_ps(sum)));
    _mm512_storeu_si512(c8, _mm512_mullo_epi32(sum, _mm512_set1_epi32(-8)));
    _mm512_storeu_si512(c128, _mm512_mullo_epi32(sum, _mm512_set1_epi32(-128)));
}

static A512 void quantize_lanes_512(const float *xr, int blocks, uint8_t *row) {
    float *dx = (float *)(row + lanes_dx(blocks)), *s = (float *)(row + lanes_s(blocks));
    int32_t *c8 = (int32_t *)(row + lanes_c8(blocks)), *c128 = (int32_t *)(row + lanes_c128(blocks));
    int k = 0;
    for (; k + 16 <= blocks; k += 16)
        quantize_lanes16(xr + (size_t)k * 32, row + (size_t)k * 32, dx + k, s + k, c8 + k, c128 + k);
    for (; k < blocks; k++) {
        const float *xb = xr + (size_t)k * 32;
        const int sum = quantize_block16(_mm512_loadu_ps(xb), _mm512_loadu_ps(xb + 16), (int8_t *)row + (size_t)k * 32, dx + k);
        s[k] = dx[k] * (float)sum;
        c8[k] = -8 * sum;
        c128[k] = -128 * sum;
    }
}

/* `blocks` blocks of x into the plain layout at row (s = dx · Σxq; padding zeroed). */
INLINE AVX2 void quantize_plain(const float *x, int blocks, uint8_t *row) {
    const int bq = q8_pad4(blocks), bs = q8_pad16(bq);
    int8_t *xq = (int8_t *)row;
    float *xd8 = (float *)(row + plain_xd8(bq)), *s = (float *)(row + plain_s(bq));
    for (int k = 0; k < bs; k++) {
        if (k >= blocks) {
            s[k] = 0;
            if (k < bq) {
                for (int j = 0; j < 32; j++) xq[k * 32 + j] = 0;
                for (int j = 0; j < 8; j++) xd8[k * 8 + j] = 0;
            }
            continue;
        }
        float dx;
        const int sum = quantize_block(x + (size_t)k * 32, xq + k * 32, &dx);
        for (int j = 0; j < 8; j++) xd8[k * 8 + j] = dx;
        s[k] = dx * (float)sum;
    }
}

AVX2 void ck_q8_quantize(int layout, const float *x, size_t x_stride, int n, int blocks, uint8_t *act,
                         size_t act_stride, int wide) {
    const int grouped = layout == 1, groups = grouped ? blocks / 16 : 0;
    for (int r = 0; r < n; r++) {
        const float *xr = x + (size_t)r * x_stride;
        uint8_t *row = act + (size_t)r * act_stride;
        if (layout == 2 && wide) {
            quantize_lanes_512(xr, blocks, row);
            continue;
        }
        if (layout == 2) {   /* lanes */
            float *dx = (float *)(row + lanes_dx(blocks)), *s = (float *)(row + lanes_s(blocks));
            int32_t *c8 = (int32_t *)(row + lanes_c8(blocks)), *c128 = (int32_t *)(row + lanes_c128(blocks));
            for (int k = 0; k < blocks; k++) {
                const int sum = quantize_block(xr + (size_t)k * 32, (int8_t *)row + (size_t)k * 32, dx + k);
                s[k] = dx[k] * (float)sum;
                c8[k] = -8 * sum;
                c128[k] = -128 * sum;
            }
            continue;
        }
        if (!grouped) {
            quantize_plain(xr, blocks, row);
            continue;
        }
        float *dxg = (float *)(row + (size_t)groups * 512), *sg = (float *)(row + (size_t)groups * 576);
        int32_t *c8 = (int32_t *)(row + (size_t)groups * 640), *c128 = (int32_t *)(row + (size_t)groups * 704);
        for (int g = 0; g < groups; g++) {
            uint8_t *gx = row + (size_t)g * 512;
            for (int b = 0; b < 16; b++) {
                int8_t q[32];
                float dx;
                const int sum = quantize_block(xr + (size_t)(g * 16 + b) * 32, q, &dx);
                const int pos = q8_perm(b), at = g * 16 + pos;
                for (int j = 0; j < 8; j++) __builtin_memcpy(gx + j * 64 + pos * 4, q + 4 * j, 4);
                dxg[at] = dx;
                sg[at] = dx * (float)sum;
                c8[at] = -8 * sum;
                c128[at] = -128 * sum;
            }
        }
        if (blocks % 16) quantize_plain(xr + (size_t)groups * 512, blocks % 16, row + grouped_tail(groups));
    }
}

INLINE AVX2 float half_bits(uint16_t h) { return _cvtsh_ss(h); }

/* ---- AVX2 ----
 * Q4 formats on the grouped layout: each 16-block group in two halves of 8 blocks (the
 * 8 q8_perm positions one 32-byte half of every xq vector holds); the weights are
 * transposed as for VNNI (4 × 4 dwords per 128-bit lane), so vpmaddubsw over j = 0..7,
 * summed in int16 (each sum ≤ 8 · 2 · 15 · 127 = 30480 < 32767), and one vpmaddwd leave
 * each block's integer dot in one lane; Q4_0's −8·Σxq is added in int32, Q4_1's m·s as one
 * FMA. Q8_0 (weights up to 128 in magnitude would overflow the int16 sums) and the last
 * blocks % 16 blocks: one block per ymm on the plain layout, vpmaddubsw + vpmaddwd
 * (Q4 pairs reach 2·15·127, Q8_0 pairs |w|·|x| 2·128·127 < 32767), offsets after the loop. */
INLINE AVX2 void q8_rows_avx2(int format, int bb, const uint8_t *data, size_t row_bytes, int blocks, int lo,
                              int hi, const uint8_t *act, size_t as, int n, float *y, size_t ys) {
    const ck_prefetch pf = weight_prefetch(n);
    const int groups = format != 2 ? blocks / 16 : 0, rest = blocks - 16 * groups;
    const int bq = q8_pad4(rest), bs = q8_pad16(bq), no = format == 1 ? 4 : 2;
    float offs[bs + 1];   /* [bs] per-block offsets of the plain blocks (zero past them) */
    for (int k = 0; k < bs; k++) offs[k] = 0;
    const __m256i low4 = _mm256_set1_epi8(15), ones = _mm256_set1_epi16(1);
    const uint8_t *xq0 = act + (groups ? grouped_tail(groups) : 0);   /* plain region */
    const float *xd0 = (const float *)(xq0 + plain_xd8(bq)), *s0 = (const float *)(xq0 + plain_s(bq));
    const uint8_t *dxg = act + (size_t)groups * 512, *sg = act + (size_t)groups * 576, *c8 = act + (size_t)groups * 640;
    __m256i gidx[2];   /* byte offsets of the blocks at positions 8h … 8h + 7 */
    for (int h = 0; h < 2; h++) {
        int32_t at[8];
        for (int i = 0; i < 8; i++) at[i] = q8_perm(8 * h + i) * bb;
        gidx[h] = _mm256_loadu_si256((const __m256i *)at);
    }
    const __m256i dsel = _mm256_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, -1, -1, -1, -1, -1, -1, -1, -1,
                                          0, 1, 4, 5, 8, 9, 12, 13, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m256i msel = _mm256_setr_epi8(2, 3, 6, 7, 10, 11, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1,
                                          2, 3, 6, 7, 10, 11, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1);
    for (int o = lo; o < hi; o++) {
        __m256 acc[8];
        for (int r = 0; r < n; r++) acc[r] = _mm256_setzero_ps();
        const uint8_t *blk = data + (size_t)o * row_bytes;
        for (int g = 0; g < groups; g++, blk += 16 * bb) {
            if (pf.bytes) prefetch_lines((const char *)blk + pf.bytes, 16 * bb, pf);
            for (int h = 0; h < 2; h++) {
                __m256i z[4], w[8];
                for (int p = 0; p < 4; p++) {
                    const uint8_t *b0 = blk + (4 * p + 2 * h) * bb + no;
                    z[p] = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)b0)),
                                                   _mm_loadu_si128((const __m128i *)(b0 + bb)), 1);
                }
                const __m256i t0 = _mm256_unpacklo_epi32(z[0], z[1]), t1 = _mm256_unpackhi_epi32(z[0], z[1]);
                const __m256i t2 = _mm256_unpacklo_epi32(z[2], z[3]), t3 = _mm256_unpackhi_epi32(z[2], z[3]);
                w[0] = _mm256_unpacklo_epi64(t0, t2);
                w[1] = _mm256_unpackhi_epi64(t0, t2);
                w[2] = _mm256_unpacklo_epi64(t1, t3);
                w[3] = _mm256_unpackhi_epi64(t1, t3);
                for (int j = 0; j < 4; j++) {
                    w[j + 4] = _mm256_and_si256(_mm256_srli_epi32(w[j], 4), low4);
                    w[j] = _mm256_and_si256(w[j], low4);
                }
                const __m256i dm = _mm256_i32gather_epi32((const int *)blk, gidx[h], 1);
                const __m256 dw = _mm256_cvtph_ps(_mm256_castsi256_si128(
                    _mm256_permute4x64_epi64(_mm256_shuffle_epi8(dm, dsel), _MM_SHUFFLE(3, 1, 2, 0))));
                __m256 mw = _mm256_setzero_ps();
                if (format == 1)
                    mw = _mm256_cvtph_ps(_mm256_castsi256_si128(
                        _mm256_permute4x64_epi64(_mm256_shuffle_epi8(dm, msel), _MM_SHUFFLE(3, 1, 2, 0))));
                const size_t at = ((size_t)g * 16 + 8 * h) * 4;   /* byte offset of the 8 positions' scalars */
                for (int r = 0; r < n; r++) {
                    const uint8_t *xr = act + r * as + (size_t)g * 512 + 32 * h;
                    __m256i s16 = _mm256_maddubs_epi16(w[0], _mm256_loadu_si256((const __m256i *)xr));
                    for (int j = 1; j < 8; j++)
                        s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(w[j], _mm256_loadu_si256((const __m256i *)(xr + j * 64))));
                    __m256i dot = _mm256_madd_epi16(s16, ones);
                    if (format == 0) dot = _mm256_add_epi32(dot, _mm256_loadu_si256((const __m256i *)(c8 + r * as + at)));
                    const __m256 sc = _mm256_mul_ps(dw, _mm256_loadu_ps((const float *)(dxg + r * as + at)));
                    acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), sc, acc[r]);
                    if (format == 1) acc[r] = _mm256_fmadd_ps(mw, _mm256_loadu_ps((const float *)(sg + r * as + at)), acc[r]);
                }
            }
        }
        for (int k = 0; k < rest; k++, blk += bb) {
            if (pf.bytes) prefetch_lines((const char *)blk + pf.bytes, 64, pf);
            uint16_t h;
            __builtin_memcpy(&h, blk, 2);
            const float d = half_bits(h);
            const __m256 dw = _mm256_set1_ps(d);
            __m256i w, wsign = _mm256_setzero_si256();
            if (format == 2) {
                wsign = _mm256_loadu_si256((const __m256i *)(blk + 2));
                w = _mm256_abs_epi8(wsign);
            } else {
                if (format == 1) {
                    uint16_t hm;
                    __builtin_memcpy(&hm, blk + 2, 2);
                    offs[k] = half_bits(hm);
                } else {
                    offs[k] = -8.0f * d;
                }
                __m128i nb = _mm_loadu_si128((const __m128i *)(blk + no));
                w = _mm256_and_si256(_mm256_inserti128_si256(_mm256_castsi128_si256(nb), _mm_srli_epi16(nb, 4), 1), low4);
            }
            for (int r = 0; r < n; r++) {
                __m256i xq = _mm256_loadu_si256((const __m256i *)(xq0 + r * as + (size_t)k * 32));
                if (format == 2) xq = _mm256_sign_epi8(xq, wsign);
                __m256i dot = _mm256_madd_epi16(_mm256_maddubs_epi16(w, xq), ones);
                __m256 sc = _mm256_mul_ps(dw, _mm256_loadu_ps((const float *)((const uint8_t *)xd0 + r * as) + (size_t)k * 8));
                acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), sc, acc[r]);
            }
        }
        if (format != 2 && rest) {
            for (int r = 0; r < n; r++) {
                const float *s = (const float *)((const uint8_t *)s0 + r * as);
                for (int k = 0; k < bs; k += 8)
                    acc[r] = _mm256_fmadd_ps(_mm256_loadu_ps(offs + k), _mm256_loadu_ps(s + k), acc[r]);
            }
        }
        for (int r = 0; r < n; r++) {
            __m128 v = _mm_add_ps(_mm256_castps256_ps128(acc[r]), _mm256_extractf128_ps(acc[r], 1));
            v = _mm_add_ps(v, _mm_movehl_ps(v, v));
            v = _mm_add_ss(v, _mm_movehdup_ps(v));
            y[r * ys + o] = _mm_cvtss_f32(v);
        }
    }
}

SPECIALIZE_ROWS(static, q8_rows_avx2_any, q8_rows_avx2, AVX2, uint8_t)

void ck_q8_rows(int vnni, int format, const uint8_t *data, size_t row_bytes, int blocks, int lo, int hi,
                const uint8_t *act, size_t act_stride, int n, float *y, size_t y_stride) {
    if (vnni) q8_rows_vnni(format, data, row_bytes, blocks, lo, hi, act, act_stride, n, y, y_stride);
    else q8_rows_avx2_any(format, data, row_bytes, blocks, lo, hi, act, act_stride, n, y, y_stride);
}
