/* Private to CKernels: e^x per lane, 8 (AVX2) or 16 (AVX-512F) lanes, for the kernels
 * that must agree with Ops.exp (the sampler's pass, SiLU). Include after <immintrin.h>. */
#ifndef SPRIG_EXP_LANES_H
#define SPRIG_EXP_LANES_H

#include <immintrin.h>

/* e^x per lane: the same IEEE steps as Ops.exp (Swift), so results agree bit for bit.
 * Fused multiply-adds only where Ops.exp has them (addProduct); the polynomial's p·r + c
 * are a multiply and an add. Every step is lane-wise, so the 8- and 16-lane forms agree. */
#define EXP_STEPS(V, set1, min, max, fmadd, sub, add, mul, castsi, castps, subi, addi, slli, seti) \
    const V xc = min(max(x, set1(-87.f)), set1(88.f));                                              \
    const V magic = set1(12582912.f); /* 1.5·2^23: adding it rounds to an integer */                 \
    const V t = fmadd(xc, set1(1.44269504f), magic);                                               \
    const V k = sub(t, magic);                                                                     \
    V r = fmadd(k, set1(-0.693145751953125f), xc);                                                 \
    r = fmadd(k, set1(-1.428606765330187e-06f), r);                                                \
    V p = set1(1.f / 720);                                                                         \
    p = add(mul(p, r), set1(1.f / 120));                                                           \
    p = add(mul(p, r), set1(1.f / 24));                                                            \
    p = add(mul(p, r), set1(1.f / 6));                                                             \
    p = add(mul(p, r), set1(0.5f));                                                                \
    p = add(mul(p, r), set1(1.f));                                                                 \
    p = add(mul(p, r), set1(1.f));                                                                 \
    return mul(p, castsi(slli(addi(subi(castps(t), seti(0x4B400000)), seti(127)), 23)));

static inline __attribute__((always_inline, target("avx2,fma"))) __m256 exp8(__m256 x) {
#pragma clang fp contract(off)
    EXP_STEPS(__m256, _mm256_set1_ps, _mm256_min_ps, _mm256_max_ps, _mm256_fmadd_ps, _mm256_sub_ps, _mm256_add_ps,
              _mm256_mul_ps, _mm256_castsi256_ps, _mm256_castps_si256, _mm256_sub_epi32, _mm256_add_epi32,
              _mm256_slli_epi32, _mm256_set1_epi32)
}

static inline __attribute__((always_inline, target("avx512f,avx2,fma"))) __m512 exp16(__m512 x) {
#pragma clang fp contract(off)
    EXP_STEPS(__m512, _mm512_set1_ps, _mm512_min_ps, _mm512_max_ps, _mm512_fmadd_ps, _mm512_sub_ps, _mm512_add_ps,
              _mm512_mul_ps, _mm512_castsi512_ps, _mm512_castps_si512, _mm512_sub_epi32, _mm512_add_epi32,
              _mm512_slli_epi32, _mm512_set1_epi32)
}

#endif
