/* Int8-activation dot kernels (opt-in, SPRIG_ACTIVATIONS=q8): activations quantized to
 * Q8 blocks of 32 (per-block f32 scale), products formed with integer instructions as
 * llama.cpp does for Q4/Q8 weights. See ckernels.h for the activation row layout. */
#include "ckernels.h"

#include <cpuid.h>
#include <immintrin.h>
#include <math.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))
#define INLINE static inline __attribute__((always_inline))
#define PREFETCH 2048

/* Layout of one quantized activation row: bp = blocks rounded up to even, bs = bp
 * rounded up to 16. Byte offsets: xq int8 [bp · 32] at 0, xd f32 [bp · 8] (each block's
 * scale repeated 8 times) at bp · 32, s f32 [bs] (dx · Σxq per block) at bp · 64. Padding
 * blocks are all zero. */
INLINE int pad_pairs(int blocks) { return (blocks + 1) & ~1; }
INLINE int pad_sums(int blocks) { return (pad_pairs(blocks) + 15) & ~15; }

size_t ck_q8_row_bytes(int blocks) {
    size_t b = (size_t)pad_pairs(blocks) * 64 + (size_t)pad_sums(blocks) * 4;
    return (b + 63) & ~(size_t)63;
}

int ck_vnni_available(void) {
    if (!ck_avx512_available()) return 0;
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (c >> 11) & 1;   /* AVX512_VNNI */
}

/* Per block: dx = max|x| / 127, xq = round-to-nearest-even(x · (1/dx)) (0 when dx = 0),
 * s = dx · Σxq. Plain C (same results on every path); built for AVX2 so it vectorises. */
AVX2 void ck_q8_quantize(const float *x, size_t x_stride, int n, int blocks, uint8_t *act, size_t act_stride) {
    const int bp = pad_pairs(blocks), bs = pad_sums(blocks);
    for (int r = 0; r < n; r++) {
        const float *xr = x + (size_t)r * x_stride;
        uint8_t *row = act + (size_t)r * act_stride;
        int8_t *xq = (int8_t *)row;
        float *xd = (float *)(row + (size_t)bp * 32), *s = (float *)(row + (size_t)bp * 64);
        for (int k = 0; k < bs; k++) {
            if (k >= blocks) {
                s[k] = 0;
                if (k < bp) {
                    for (int j = 0; j < 32; j++) xq[k * 32 + j] = 0;
                    for (int j = 0; j < 8; j++) xd[k * 8 + j] = 0;
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
            for (int j = 0; j < 8; j++) xd[k * 8 + j] = dx;
            s[k] = dx * (float)sum;
        }
    }
}

INLINE AVX2 float half_bits(uint16_t h) { return _cvtsh_ss(h); }

/* ---- AVX-512 VNNI: two blocks per zmm, vpdpbusd (u8 weights × s8 activations). ----
 * Q4: q (0..15) as u8 against xq; the offset (Q4_1 m, Q4_0 −8·d) comes after the block
 * loop as Σ_k offset_k · s_k, one 16-lane FMA per 16 blocks. Q8_0: |w| against
 * sign(w)·xq. Per activation row and block pair: dpbusd, cvt, d_w·d_x, FMA. */
INLINE VNNI void q8_rows_vnni(int format, int bb, const uint8_t *data, size_t row_bytes, int blocks, int lo,
                              int hi, const uint8_t *act, size_t as, int n, float *y, size_t ys) {
    const int bp = pad_pairs(blocks), bs = pad_sums(blocks);
    float offs[bs] __attribute__((aligned(64)));   /* [bs] per-block offset of one weight row */
    for (int k = 0; k < bs; k++) offs[k] = 0;
    const __m512i lanes01 = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m512i lanes02 = _mm512_set_epi32(2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m512i low4 = _mm512_set1_epi8(15), zero = _mm512_setzero_si512();
    const uint8_t *xq0 = act;
    const float *xd0 = (const float *)(act + (size_t)bp * 32), *s0 = (const float *)(act + (size_t)bp * 64);
    for (int o = lo; o < hi; o++) {
        __m512 acc[8];
        for (int r = 0; r < n; r++) acc[r] = _mm512_setzero_ps();
        const uint8_t *blk = data + (size_t)o * row_bytes;
        for (int k = 0; k < blocks; k += 2, blk += 2 * bb) {
            _mm_prefetch((const char *)blk + PREFETCH, _MM_HINT_T0);
            if (format == 2) _mm_prefetch((const char *)blk + PREFETCH + 64, _MM_HINT_T0);
            const int two = k + 1 < blocks;
            __m512i w;
            __m512 dw;
            __mmask64 neg = 0;
            if (format == 1) {
                uint32_t dm0, dm1 = 0;
                __builtin_memcpy(&dm0, blk, 4);
                if (two) __builtin_memcpy(&dm1, blk + bb, 4);
                __m128 f = _mm_cvtph_ps(_mm_set_epi32(0, 0, (int)dm1, (int)dm0));   /* d0 m0 d1 m1 */
                dw = _mm512_permutexvar_ps(lanes02, _mm512_castps128_ps512(f));
                _mm_storel_pi((__m64 *)(offs + k), _mm_shuffle_ps(f, f, _MM_SHUFFLE(3, 1, 3, 1)));
            } else {
                uint16_t h0, h1 = 0;
                __builtin_memcpy(&h0, blk, 2);
                if (two) __builtin_memcpy(&h1, blk + bb, 2);
                __m128 f = _mm_cvtph_ps(_mm_cvtsi32_si128((int)h0 | (int)h1 << 16));   /* d0 d1 */
                dw = _mm512_permutexvar_ps(lanes01, _mm512_castps128_ps512(f));
                if (format == 0) _mm_storel_pi((__m64 *)(offs + k), _mm_mul_ps(f, _mm_set1_ps(-8.0f)));
            }
            if (format == 2) {
                __m256i w0 = _mm256_loadu_si256((const __m256i *)(blk + 2));
                __m256i w1 = two ? _mm256_loadu_si256((const __m256i *)(blk + bb + 2)) : _mm256_setzero_si256();
                __m512i wz = _mm512_inserti64x4(_mm512_castsi256_si512(w0), w1, 1);
                neg = _mm512_movepi8_mask(wz);
                w = _mm512_abs_epi8(wz);
            } else {
                const uint8_t *nib = blk + (format == 1 ? 4 : 2);
                __m128i n0 = _mm_loadu_si128((const __m128i *)nib);
                __m128i n1 = two ? _mm_loadu_si128((const __m128i *)(nib + bb)) : _mm_setzero_si128();
                __m512i t = _mm512_castsi256_si512(_mm256_inserti128_si256(_mm256_castsi128_si256(n0), n1, 1));
                __m512i z = _mm512_shuffle_i64x2(t, t, _MM_SHUFFLE(1, 1, 0, 0));   /* n0 n0 n1 n1 */
                w = _mm512_and_si512(_mm512_mask_blend_epi64(0xCC, z, _mm512_srli_epi16(z, 4)), low4);
            }
            for (int r = 0; r < n; r++) {
                __m512i xq = _mm512_loadu_si512((const void *)(xq0 + r * as + (size_t)k * 32));
                if (format == 2) xq = _mm512_mask_sub_epi8(xq, neg, zero, xq);
                __m512i dot = _mm512_dpbusd_epi32(zero, w, xq);
                __m512 sc = _mm512_mul_ps(dw, _mm512_loadu_ps((const float *)((const uint8_t *)xd0 + r * as) + (size_t)k * 8));
                acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), sc, acc[r]);
            }
        }
        if (format != 2) {
            for (int r = 0; r < n; r++) {
                const float *s = (const float *)((const uint8_t *)s0 + r * as);
                for (int k = 0; k < bs; k += 16)
                    acc[r] = _mm512_fmadd_ps(_mm512_loadu_ps(offs + k), _mm512_loadu_ps(s + k), acc[r]);
            }
        }
        for (int r = 0; r < n; r++) y[r * ys + o] = _mm512_reduce_add_ps(acc[r]);
    }
}

/* ---- AVX2: one block per ymm, vpmaddubsw + vpmaddwd (no saturation: Q4 pairs reach
 * 2·15·127, Q8_0 pairs 2·128·127 < 32767). Offsets as above. ---- */
INLINE AVX2 void q8_rows_avx2(int format, int bb, const uint8_t *data, size_t row_bytes, int blocks, int lo,
                              int hi, const uint8_t *act, size_t as, int n, float *y, size_t ys) {
    const int bp = pad_pairs(blocks), bs = pad_sums(blocks);
    float offs[bs] __attribute__((aligned(32)));   /* [bs] per-block offset of one weight row */
    for (int k = 0; k < bs; k++) offs[k] = 0;
    const __m256i low4 = _mm256_set1_epi8(15), ones = _mm256_set1_epi16(1);
    const uint8_t *xq0 = act;
    const float *xd0 = (const float *)(act + (size_t)bp * 32), *s0 = (const float *)(act + (size_t)bp * 64);
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
