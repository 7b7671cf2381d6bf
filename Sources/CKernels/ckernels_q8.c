/* Int8-activation dot kernels (opt-in, SPRIG_ACTIVATIONS=q8): activations quantized to
 * Q8 blocks of 32 (per-block f32 scale), products formed with integer instructions as
 * llama.cpp does for Q4/Q8 weights. See ckernels.h for the activation row layout. */
#include "ckernels.h"

#include <cpuid.h>
#include <immintrin.h>
#include <math.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx512vbmi,avx2,fma,f16c")))
#define INLINE static inline __attribute__((always_inline))
#define PREFETCH 2048

/* Layout of one quantized activation row: bq = blocks rounded up to 4, bs = bq rounded
 * up to 16. Byte offsets: xq int8 [bq · 32] at 0; xd8 f32 [bq · 8] (each block's scale
 * repeated 8 times) at bq · 32; xd4 f32 [bq · 4] (repeated 4 times) at bq · 64; s f32 [bs]
 * (dx · Σxq per block) at bq · 80. Padding blocks are all zero. */
INLINE int pad_quads(int blocks) { return (blocks + 3) & ~3; }
INLINE int pad_sums(int blocks) { return (pad_quads(blocks) + 15) & ~15; }
#define XD8_AT(bq) ((size_t)(bq) * 32)
#define XD4_AT(bq) ((size_t)(bq) * 64)
#define S_AT(bq) ((size_t)(bq) * 80)

size_t ck_q8_row_bytes(int blocks) {
    size_t b = S_AT(pad_quads(blocks)) + (size_t)pad_sums(blocks) * 4;
    return (b + 63) & ~(size_t)63;
}

int ck_vnni_available(void) {
    if (!ck_avx512_available()) return 0;
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return ((c >> 11) & 1) && ((c >> 1) & 1);   /* AVX512_VNNI and AVX512_VBMI (vpermb) */
}

/* Per block: dx = max|x| / 127, xq = round-to-nearest-even(x · (1/dx)) (0 when dx = 0),
 * s = dx · Σxq. Plain C (same results on every path); built for AVX2 so it vectorises. */
AVX2 void ck_q8_quantize(const float *x, size_t x_stride, int n, int blocks, uint8_t *act, size_t act_stride) {
    const int bq = pad_quads(blocks), bs = pad_sums(blocks);
    for (int r = 0; r < n; r++) {
        const float *xr = x + (size_t)r * x_stride;
        uint8_t *row = act + (size_t)r * act_stride;
        int8_t *xq = (int8_t *)row;
        float *xd8 = (float *)(row + XD8_AT(bq)), *xd4 = (float *)(row + XD4_AT(bq)), *s = (float *)(row + S_AT(bq));
        for (int k = 0; k < bs; k++) {
            if (k >= blocks) {
                s[k] = 0;
                if (k < bq) {
                    for (int j = 0; j < 32; j++) xq[k * 32 + j] = 0;
                    for (int j = 0; j < 8; j++) xd8[k * 8 + j] = 0;
                    for (int j = 0; j < 4; j++) xd4[k * 4 + j] = 0;
                }
                continue;
            }
            const float *xb = xr + (size_t)k * 32;
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(xb[j]));
            const float dx = amax / 127.0f, id = dx != 0 ? 1.0f / dx : 0.0f;
            int sum = 0;
            for (int j = 0; j < 32; j++) {
                float v = nearbyintf(xb[j] * id);
                v = fminf(127.0f, fmaxf(-127.0f, v));
                xq[k * 32 + j] = (int8_t)v;
                sum += (int)v;
            }
            for (int j = 0; j < 8; j++) xd8[k * 8 + j] = dx;
            for (int j = 0; j < 4; j++) xd4[k * 4 + j] = dx;
            s[k] = dx * (float)sum;
        }
    }
}

INLINE AVX2 float half_bits(uint16_t h) { return _cvtsh_ss(h); }

/* ---- AVX-512 VNNI: two blocks per zmm, vpdpbusd (u8 weights × s8 activations). ----
 * Q4: q (0..15) as u8 against xq; the offset (Q4_1 m, Q4_0 −8·d) comes after the block
 * loop as Σ_k offset_k · s_k, one 16-lane FMA per 16 blocks. Q8_0: |w| against
 * sign(w)·xq. Four blocks per step: the two vpdpbusd results (8 lanes per block) are
 * folded to 4 lanes per block in one vector (two vpermt2d and an add), so d_w·d_x, the
 * conversion and the FMA run once per four blocks and activation row. */
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

INLINE VNNI void q8_rows_vnni(int format, int bb, const uint8_t *data, size_t row_bytes, int blocks, int lo,
                              int hi, const uint8_t *act, size_t as, int n, float *y, size_t ys) {
    const int bq = pad_quads(blocks), bs = pad_sums(blocks);
    float offs[bs];   /* [bs] per-block offset of one weight row (zero past `blocks`) */
    for (int k = 0; k < bs; k++) offs[k] = 0;
    const q4_pair_plan plan = make_plan(format, bb);
    const __m512i zero = _mm512_setzero_si512();
    /* Scale lanes: pair d0×8 d1×8 (Q4_1: from d0 m0 d1 m1); quad d0×4 d1×4 d2×4 d3×4. */
    const int d1 = format == 1 ? 2 : 1;
    const __m512i pair_lanes = _mm512_set_epi32(d1, d1, d1, d1, d1, d1, d1, d1, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m512i quad_lanes = _mm512_set_epi32(16 + d1, 16 + d1, 16 + d1, 16 + d1, 16, 16, 16, 16,
                                                d1, d1, d1, d1, 0, 0, 0, 0);
    /* Fold of two dpbusd results (A: blocks 0, 1; B: blocks 2, 3) to 4 lanes per block. */
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    const uint8_t *xq0 = act;
    const uint8_t *xd8 = act + XD8_AT(bq), *xd4 = act + XD4_AT(bq), *s0 = act + S_AT(bq);
    for (int o = lo; o < hi; o++) {
        __m512 acc[8];
        for (int r = 0; r < n; r++) acc[r] = _mm512_setzero_ps();
        const uint8_t *blk = data + (size_t)o * row_bytes;
        int k = 0;
        for (; k + 4 <= blocks; k += 4, blk += 4 * bb) {
            _mm_prefetch((const char *)blk + PREFETCH, _MM_HINT_T0);
            _mm_prefetch((const char *)blk + PREFETCH + 64, _MM_HINT_T0);
            if (format == 2) _mm_prefetch((const char *)blk + PREFETCH + 128, _MM_HINT_T0);
            __m512i wa, wb;
            __mmask64 na = 0, nb = 0;
            __m128 fa, fb;
            decode_pair(format, bb, &plan, blk, 1, &wa, &na, &fa, offs + k);
            decode_pair(format, bb, &plan, blk + 2 * bb, 1, &wb, &nb, &fb, offs + k + 2);
            const __m512 dw = _mm512_permutex2var_ps(_mm512_castps128_ps512(fa), quad_lanes, _mm512_castps128_ps512(fb));
            for (int r = 0; r < n; r++) {
                const uint8_t *xr = xq0 + r * as + (size_t)k * 32;
                __m512i xa = _mm512_loadu_si512((const void *)xr), xb = _mm512_loadu_si512((const void *)(xr + 64));
                if (format == 2) {
                    xa = _mm512_mask_sub_epi8(xa, na, zero, xa);
                    xb = _mm512_mask_sub_epi8(xb, nb, zero, xb);
                }
                __m512i da = _mm512_dpbusd_epi32(zero, wa, xa), db = _mm512_dpbusd_epi32(zero, wb, xb);
                __m512i e = _mm512_add_epi32(_mm512_permutex2var_epi32(da, even, db), _mm512_permutex2var_epi32(da, odd, db));
                __m512 sc = _mm512_mul_ps(dw, _mm512_loadu_ps((const float *)(xd4 + r * as) + (size_t)k * 4));
                acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(e), sc, acc[r]);
            }
        }
        for (; k < blocks; k += 2, blk += 2 * bb) {   /* the last 1–3 blocks, two at a time */
            const int two = k + 1 < blocks;
            __m512i w;
            __mmask64 neg = 0;
            __m128 f;
            decode_pair(format, bb, &plan, blk, two, &w, &neg, &f, offs + k);
            const __m512 dw = _mm512_permutexvar_ps(pair_lanes, _mm512_castps128_ps512(f));
            for (int r = 0; r < n; r++) {
                __m512i xq = _mm512_loadu_si512((const void *)(xq0 + r * as + (size_t)k * 32));
                if (format == 2) xq = _mm512_mask_sub_epi8(xq, neg, zero, xq);
                __m512i dot = _mm512_dpbusd_epi32(zero, w, xq);
                __m512 sc = _mm512_mul_ps(dw, _mm512_loadu_ps((const float *)(xd8 + r * as) + (size_t)k * 8));
                acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), sc, acc[r]);
            }
        }
        if (format != 2) {
            for (int r = 0; r < n; r++) {
                const float *s = (const float *)(s0 + r * as);
                for (int j = 0; j < bs; j += 16)
                    acc[r] = _mm512_fmadd_ps(_mm512_loadu_ps(offs + j), _mm512_loadu_ps(s + j), acc[r]);
            }
        }
        if (n == 1) y[o] = _mm512_reduce_add_ps(acc[0]);
        else store_sums(acc, n, y, ys, o);
    }
}

/* ---- AVX2: one block per ymm, vpmaddubsw + vpmaddwd (no saturation: Q4 pairs reach
 * 2·15·127, Q8_0 pairs 2·128·127 < 32767). Offsets as above. ---- */
INLINE AVX2 void q8_rows_avx2(int format, int bb, const uint8_t *data, size_t row_bytes, int blocks, int lo,
                              int hi, const uint8_t *act, size_t as, int n, float *y, size_t ys) {
    const int bq = pad_quads(blocks), bs = pad_sums(blocks);
    float offs[bs];   /* [bs] per-block offset of one weight row (zero past `blocks`) */
    for (int k = 0; k < bs; k++) offs[k] = 0;
    const __m256i low4 = _mm256_set1_epi8(15), ones = _mm256_set1_epi16(1);
    const uint8_t *xq0 = act;
    const float *xd0 = (const float *)(act + XD8_AT(bq)), *s0 = (const float *)(act + S_AT(bq));
    for (int o = lo; o < hi; o++) {
        __m256 acc[8];
        for (int r = 0; r < n; r++) acc[r] = _mm256_setzero_ps();
        const uint8_t *blk = data + (size_t)o * row_bytes;
        for (int k = 0; k < blocks; k++, blk += bb) {
            _mm_prefetch((const char *)blk + PREFETCH, _MM_HINT_T0);
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
                __m128i nb = _mm_loadu_si128((const __m128i *)(blk + (format == 1 ? 4 : 2)));
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
        if (format != 2) {
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

#define BLOCK_BYTES(f) ((f) == 0 ? 18 : (f) == 1 ? 20 : 34)
#define Q8_CASE(kern, f, nn) \
    case nn: kern(f, BLOCK_BYTES(f), data, row_bytes, blocks, lo, hi, act, act_stride, nn, y, y_stride); break;
#define Q8_FORMAT(kern, attr, f) \
    static attr void kern##_f##f(const uint8_t *data, size_t row_bytes, int blocks, int lo, int hi, \
                                 const uint8_t *act, size_t act_stride, int n, float *y, size_t y_stride) { \
        switch (n) { Q8_CASE(kern, f, 1) Q8_CASE(kern, f, 2) Q8_CASE(kern, f, 3) Q8_CASE(kern, f, 4) \
                     Q8_CASE(kern, f, 5) Q8_CASE(kern, f, 6) Q8_CASE(kern, f, 7) default: Q8_CASE(kern, f, 8) } \
    }
Q8_FORMAT(q8_rows_vnni, VNNI, 0)
Q8_FORMAT(q8_rows_vnni, VNNI, 1)
Q8_FORMAT(q8_rows_vnni, VNNI, 2)
Q8_FORMAT(q8_rows_avx2, AVX2, 0)
Q8_FORMAT(q8_rows_avx2, AVX2, 1)
Q8_FORMAT(q8_rows_avx2, AVX2, 2)

void ck_q8_rows(int vnni, int format, const uint8_t *data, size_t row_bytes, int blocks, int lo, int hi,
                const uint8_t *act, size_t act_stride, int n, float *y, size_t y_stride) {
    if (vnni) {
        switch (format) {
        case 0: q8_rows_vnni_f0(data, row_bytes, blocks, lo, hi, act, act_stride, n, y, y_stride); break;
        case 1: q8_rows_vnni_f1(data, row_bytes, blocks, lo, hi, act, act_stride, n, y, y_stride); break;
        default: q8_rows_vnni_f2(data, row_bytes, blocks, lo, hi, act, act_stride, n, y, y_stride); break;
        }
    } else {
        switch (format) {
        case 0: q8_rows_avx2_f0(data, row_bytes, blocks, lo, hi, act, act_stride, n, y, y_stride); break;
        case 1: q8_rows_avx2_f1(data, row_bytes, blocks, lo, hi, act, act_stride, n, y, y_stride); break;
        default: q8_rows_avx2_f2(data, row_bytes, blocks, lo, hi, act, act_stride, n, y, y_stride); break;
        }
    }
}
