/* The sampler's repetition-penalty correction in C: Swift's SIMD8 form of this loop was
 * split by LLVM into 2-lane pieces (vmovsd loads, xmm blends) and took about twice as long
 * as the 8-lane loop below. Needs AVX2 + FMA (the package's baseline). */
#include "ckernels.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "exp_lanes.h"

#define AVX2 __attribute__((target("avx2,fma")))
#define INL static inline __attribute__((always_inline))

AVX2 double ck_swap_sum(const float *raw, const float *lowered, int count, float shift) {
    const __m256 s = _mm256_set1_ps(shift);
    double total = 0;
    int i = 0;
    for (; i + 8 <= count; i += 8) {
        const __m256 d = _mm256_sub_ps(exp8(_mm256_sub_ps(_mm256_loadu_ps(raw + i), s)),
                                       exp8(_mm256_sub_ps(_mm256_loadu_ps(lowered + i), s)));
        /* Pairwise: (0+4, 1+5, 2+6, 3+7), then (02+13 … ), then the last two. */
        __m128 h = _mm_add_ps(_mm256_castps256_ps128(d), _mm256_extractf128_ps(d, 1));
        h = _mm_add_ps(h, _mm_movehl_ps(h, h));
        h = _mm_add_ss(h, _mm_movehdup_ps(h));
        total += (double)_mm_cvtss_f32(h);
    }
    for (; i < count; i++) {  /* callers on the hot path pad to a multiple of 8 */
        float a[8] = {0}, b[8] = {0};
        a[0] = raw[i] - shift;
        b[0] = lowered[i] - shift;
        float ea[8], eb[8];
        _mm256_storeu_ps(ea, exp8(_mm256_loadu_ps(a)));
        _mm256_storeu_ps(eb, exp8(_mm256_loadu_ps(b)));
        total += (double)(ea[0] - eb[0]);
    }
    return total;
}

/* The repetition penalty's pass (RepetitionPenalty.apply): for each id t of prev[0, count)
 * inside [0, n) and not yet stamped with `stamp`, stamps it, appends t to ids, row[t] to
 * raw and its penalised value to lowered, and writes that value into the row. Returns how
 * many were penalised. The penalised value is row[t] / penalty for a clear sign bit and
 * row[t] · penalty for a set one, chosen by a blend on the sign bit: LLVM compiled the
 * Swift loop's bitwise select back into a branch on the sign (5 % faster here, warm). */
AVX2 int ck_penalize(float *row, int64_t n, const int64_t *prev, int64_t count, float penalty,
                     uint32_t *stamps, uint32_t stamp, int64_t *ids, float *raw, float *lowered) {
    const __m128 p = _mm_set_ss(penalty);
    int k = 0;
    for (int64_t i = 0; i < count; i++) {
        const int64_t t = prev[i];
        if ((uint64_t)t >= (uint64_t)n || stamps[t] == stamp) continue;
        stamps[t] = stamp;
        const __m128 l = _mm_load_ss(row + t);
        const __m128 v = _mm_blendv_ps(_mm_div_ss(l, p), _mm_mul_ss(l, p), l);
        _mm_store_ss(row + t, v);
        _mm_store_ss(lowered + k, v);
        raw[k] = _mm_cvtss_f32(l);
        ids[k] = t;
        k++;
    }
    return k;
}

/* ---- The sampler's one-pass statistics, 16 lanes (SamplingStats.pass in C) ----
 *
 * The same numbers as the Swift pass (Kernels/SamplingKernels.swift), bit for bit: every
 * exponential is Ops.exp's polynomial on the same input, computed 16 lanes at a time, and
 * the per-chunk sums are added as the Swift SIMD8 accumulators add them (entry i into lane
 * i mod 8 of accumulator (i / 8) mod 2, in index order; the two added, then their lanes in
 * order from −0), so only the exponentials' throughput changes: the Swift loop is one
 * dependent 8-lane polynomial at a time. Needs AVX-512F (ck_avx512_available). The
 * exponentials are exp_lanes.h's. */

#define AVX512 __attribute__((target("avx512f,avx2,fma")))
#define SP_CHUNK 256

/* Σ of 8 lanes in lane order from −0 (SIMD8<Float>.sum()). */
INL AVX2 float lane_sum8(__m256 v) {
    float e[8];
    _mm256_storeu_ps(e, v);
    float s = -0.f;
    for (int l = 0; l < 8; l++) s += e[l];
    return s;
}

/* The 8-lane groups of a 16-lane compare mask with any lane set, as a mask of whole groups. */
INL __mmask16 live_groups(__mmask16 m) {
    return (__mmask16)(((m & 0x00FF) ? 0x00FF : 0) | ((m & 0xFF00) ? 0xFF00 : 0));
}

/* Whether any lane of v is ≥ −cut (NaN lanes are not). */
INL AVX2 int any_live8(__m256 v, float cut) {
    return _mm256_movemask_ps(_mm256_cmp_ps(v, _mm256_set1_ps(-cut), _CMP_GE_OQ)) != 0;
}

/* Swift.max(a, b) for floats: b ≥ a ? b : a. */
INL float swift_max(float a, float b) { return b >= a ? b : a; }

AVX512 int ck_sampling_pass(const float *x, int count, float scale, float *maxes, double *scaled_sums,
                            double *plain_sums, float window, int32_t *candidates, int capacity, float *exps,
                            float cut) {
    const __m512 cut16 = _mm512_set1_ps(-cut);
    float running = -INFINITY;
    int found = 0;
    const __m512 k16 = _mm512_set1_ps(scale);
    const __m256 k8 = _mm256_set1_ps(scale);
    for (int start = 0, j = 0; start < count; start += SP_CHUNK, j++) {
        const int end = start + SP_CHUNK < count ? start + SP_CHUNK : count;
        const int n = end - start, vec = n / 8 * 8;
        const float *c = x + start;
        /* 1. chunk max: exact in any order (vmaxps on the full 8-vectors, then the tail) */
        __m512 m16 = _mm512_set1_ps(-INFINITY);
        int i = 0;
        for (; i + 16 <= vec; i += 16) m16 = _mm512_max_ps(_mm512_loadu_ps(c + i), m16);
        __m256 m8 = _mm256_max_ps(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(m16), 1)), _mm512_castps512_ps256(m16));
        for (; i < vec; i += 8) m8 = _mm256_max_ps(_mm256_loadu_ps(c + i), m8);
        const __m128 m4 = _mm_max_ps(_mm256_extractf128_ps(m8, 1), _mm256_castps256_ps128(m8));
        const __m128 m2 = _mm_max_ps(_mm_movehl_ps(m4, m4), m4);
        float m = swift_max(_mm_cvtss_f32(m2), _mm_cvtss_f32(_mm_movehdup_ps(m2)));
        for (; i < n; i++) m = swift_max(m, c[i]);
        maxes[j] = m;
        /* 2. exponentials around the chunk max, 16 at a time (tail lanes −∞ → masked to 0),
         *    added as the Swift pass adds them: 8-entry group g into accumulator g mod 2 (the
         *    low and high halves of the 16-lane sums), lanes in order at the end. A group whose
         *    exponents are all below −cut adds nothing and skips its polynomial. */
        const __m512 shift16 = _mm512_set1_ps(m);
        __m512 t16 = _mm512_setzero_ps(), p16 = _mm512_setzero_ps();
        float *stored = exps ? exps + start : NULL;
        for (i = 0; i + 16 <= vec; i += 16) {
            const __m512 d = _mm512_sub_ps(_mm512_loadu_ps(c + i), shift16);
            const __m512 dk = _mm512_mul_ps(d, k16);
            const __mmask16 kt = live_groups(_mm512_cmp_ps_mask(dk, cut16, _CMP_GE_OQ));
            const __m512 e = kt ? _mm512_maskz_mov_ps(kt, exp16(dk)) : _mm512_setzero_ps();
            if (kt) t16 = _mm512_add_ps(t16, e);
            if (stored) _mm512_storeu_ps(stored + i, e);
            if (plain_sums) {
                const __mmask16 kp = live_groups(_mm512_cmp_ps_mask(d, cut16, _CMP_GE_OQ));
                if (kp) p16 = _mm512_add_ps(p16, _mm512_maskz_mov_ps(kp, exp16(d)));
            }
        }
        __m256 st[2] = {_mm512_castps512_ps256(t16), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(t16), 1))};
        __m256 s1[2] = {_mm512_castps512_ps256(p16), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(p16), 1))};
        if (i < vec) {   /* one 8-vector left: an even group */
            const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(c + i), _mm256_set1_ps(m));
            const __m256 dk = _mm256_mul_ps(d, k8);
            const int live = any_live8(dk, cut);
            const __m256 e = live ? exp8(dk) : _mm256_setzero_ps();
            if (live) st[0] = _mm256_add_ps(st[0], e);
            if (stored) _mm256_storeu_ps(stored + i, e);
            if (plain_sums && any_live8(d, cut)) s1[0] = _mm256_add_ps(s1[0], exp8(d));
            i += 8;
        }
        if (i < n) {     /* the last count % 8 entries: group i / 8 */
            const int lanes = n - i, g = (i / 8) & 1;
            float v[8], mask[8], e_out[8];
            for (int l = 0; l < 8; l++) { v[l] = l < lanes ? c[i + l] : -INFINITY; mask[l] = l < lanes ? 1.f : 0.f; }
            const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(v), _mm256_set1_ps(m));
            const __m256 dk = _mm256_mul_ps(d, k8);
            const __m256 mk = _mm256_loadu_ps(mask);
            const int live = any_live8(dk, cut);
            const __m256 e = live ? _mm256_mul_ps(exp8(dk), mk) : _mm256_setzero_ps();
            if (live) st[g] = _mm256_add_ps(st[g], e);
            if (stored) {
                _mm256_storeu_ps(e_out, e);
                memcpy(stored + i, e_out, (size_t)lanes * sizeof(float));
            }
            if (plain_sums && any_live8(d, cut)) s1[g] = _mm256_add_ps(s1[g], _mm256_mul_ps(exp8(d), mk));
        }
        scaled_sums[j] = (double)lane_sum8(_mm256_add_ps(st[0], st[1]));
        if (plain_sums) plain_sums[j] = (double)lane_sum8(_mm256_add_ps(s1[0], s1[1]));
        /* 4. candidates near the running max, in index order */
        running = swift_max(running, m);
        if (candidates && found >= 0) {
            const float threshold = running - window;
            const __m512 t16 = _mm512_set1_ps(threshold);
            for (i = 0; i < n && found >= 0; ) {
                if (i + 16 <= n && !_mm512_cmp_ps_mask(_mm512_loadu_ps(c + i), t16, _CMP_GE_OQ)) { i += 16; continue; }
                const int stop = i + 16 < n ? i + 16 : n;
                for (; i < stop; i++) {
                    if (c[i] >= threshold) {
                        if (found == capacity) { found = -1; break; }
                        candidates[found++] = start + i;
                    }
                }
            }
        }
    }
    return found;
}
