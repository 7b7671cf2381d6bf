/* The sampler's repetition-penalty correction in C: Swift's SIMD8 form of this loop was
 * split by LLVM into 2-lane pieces (vmovsd loads, xmm blends) and took about twice as long
 * as the 8-lane loop below. Needs AVX2 + FMA (the package's baseline). */
#include "ckernels.h"

#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
#define INL static inline __attribute__((always_inline))

/* e^x per lane: the range reduction and degree-6 polynomial of Ops.exp (Swift), with the
 * same fused and separate operations in the same order. */
INL AVX2 __m256 exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.f)), _mm256_set1_ps(88.f));
    const __m256 magic = _mm256_set1_ps(12582912.f);
    const __m256 t = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504f), magic);
    const __m256 k = _mm256_sub_ps(t, magic);
    __m256 r = _mm256_fmadd_ps(k, _mm256_set1_ps(-0.693145751953125f), x);
    r = _mm256_fmadd_ps(k, _mm256_set1_ps(-1.428606765330187e-06f), r);
    __m256 p = _mm256_set1_ps(1.f / 720);
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.f / 120));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.f / 24));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.f / 6));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(0.5f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.f));
    const __m256i bits = _mm256_add_epi32(_mm256_sub_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(0x4B400000)),
                                          _mm256_set1_epi32(127));
    return _mm256_mul_ps(p, _mm256_castsi256_ps(_mm256_slli_epi32(bits, 23)));
}

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
