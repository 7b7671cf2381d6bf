/* AVX-512 paged attention for the heads that share one kv head (decode and prefill).
 *
 * Why C: the Swift kernel (Kernels/PagedAttention.swift, AVX2) spends most of its time
 * waiting on K/V rows. A sequence's blocks are far apart in the pool (a block holds every
 * layer of blockSize tokens), so the hardware prefetcher cannot follow a block table;
 * this kernel prefetches the next chunk's rows while it works on the current one, keeps
 * q and the output row in registers for the whole prefix, and folds 8 dot products per
 * hadd tree instead of one horizontal sum per row.
 *
 * Per head: online softmax over chunks of 16 positions (running max m, running sum l);
 * s_r = (q · k_r) · scale, w_r = exp(s_r − m), out = Σ w_r v_r / l. exp is the same
 * range reduction and degree-6 polynomial as Ops.exp (Swift). */
#include "ckernels.h"

#include <immintrin.h>
#include <math.h>

#define A512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma")))
#define INL static inline __attribute__((always_inline))
#ifndef PREFETCH_ROWS
#define PREFETCH_ROWS 24
#endif

/* e^x per lane for x ≤ 88; lanes below −87 give ~e^−87 (callers mask unused lanes). */
INL A512 __m512 exp16(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.f)), _mm512_set1_ps(88.f));
    const __m512 magic = _mm512_set1_ps(12582912.f);  /* 1.5·2^23: adding it rounds to an integer */
    __m512 t = _mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504f), magic);
    __m512 k = _mm512_sub_ps(t, magic);
    __m512 r = _mm512_fmadd_ps(k, _mm512_set1_ps(-0.693145751953125f), x);
    r = _mm512_fmadd_ps(k, _mm512_set1_ps(-1.428606765330187e-06f), r);
    __m512 p = _mm512_set1_ps(1.f / 720);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f));
    __m512i bits = _mm512_add_epi32(_mm512_sub_epi32(_mm512_castps_si512(t), _mm512_set1_epi32(0x4B400000)),
                                    _mm512_set1_epi32(127));
    return _mm512_mul_ps(p, _mm512_castsi512_ps(_mm512_slli_epi32(bits, 23)));
}

/* [Σ y0, Σ y1, …, Σ y7]: eight horizontal sums in one hadd tree. */
INL A512 __m256 sum8(__m256 y0, __m256 y1, __m256 y2, __m256 y3, __m256 y4, __m256 y5, __m256 y6, __m256 y7) {
    __m256 u0 = _mm256_hadd_ps(_mm256_hadd_ps(y0, y1), _mm256_hadd_ps(y2, y3));
    __m256 u1 = _mm256_hadd_ps(_mm256_hadd_ps(y4, y5), _mm256_hadd_ps(y6, y7));
    return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
}

/* One head, V = head_dim / 16 zmm per row (a compile-time constant at each call site).
 * kr, vr: row pointers of every attended position; q, out: [head_dim]; s: [attended + 16]
 * scratch for the scores. Three passes over the prefix: scores (8 rows per hadd tree)
 * and their max, the exponentials and their sum, then Σ w_r v_r: no running-max
 * rescale per chunk. `prefetch` (the first head of a group, which finds the rows cold)
 * asks for the K rows, then the V rows, PREFETCH_ROWS ahead. */
INL A512 void attend_head(const int V, const float *const *kr, const float *const *vr, int attended,
                          float scale, int prefetch, const float *q, float *s, float *out) {
    __m512 qv[8], acc[8];
    for (int c = 0; c < V; c++) {
        qv[c] = _mm512_loadu_ps(q + 16 * c);
        acc[c] = _mm512_setzero_ps();
    }
    __m256 vmax = _mm256_set1_ps(-INFINITY);
    for (int p0 = 0; p0 < attended; p0 += 8) {
        const int rows = attended - p0 < 8 ? attended - p0 : 8;
        __m256 part[8];
        for (int r = 0; r < 8; r++) {
            if (r >= rows) { part[r] = _mm256_setzero_ps(); continue; }
            const float *k = kr[p0 + r];
            if (prefetch && p0 + r + PREFETCH_ROWS < attended)
                for (int c = 0; c < V; c++) _mm_prefetch((const char *)(kr[p0 + r + PREFETCH_ROWS] + 16 * c), _MM_HINT_T0);
            __m512 d = _mm512_mul_ps(qv[0], _mm512_loadu_ps(k));
            for (int c = 1; c < V; c++) d = _mm512_fmadd_ps(qv[c], _mm512_loadu_ps(k + 16 * c), d);
            part[r] = _mm256_add_ps(_mm512_castps512_ps256(d),
                                    _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(d), 1)));
        }
        __m256 sc = _mm256_mul_ps(sum8(part[0], part[1], part[2], part[3], part[4], part[5], part[6], part[7]),
                                  _mm256_set1_ps(scale));
        const __mmask8 valid = (__mmask8)((1u << rows) - 1);
        sc = _mm256_mask_mov_ps(_mm256_set1_ps(-INFINITY), valid, sc);
        vmax = _mm256_max_ps(vmax, sc);
        _mm256_storeu_ps(s + p0, sc);  /* s has 16 floats of slack past attended */
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(vmax), _mm256_extractf128_ps(vmax, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const __m512 mx = _mm512_set1_ps(_mm_cvtss_f32(m4));
    __m512 total = _mm512_setzero_ps();
    for (int p0 = 0; p0 < attended; p0 += 16) {
        const int rows = attended - p0 < 16 ? attended - p0 : 16;
        const __mmask16 valid = (__mmask16)((1u << rows) - 1);
        const __m512 e = _mm512_maskz_mov_ps(valid, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(valid, s + p0), mx)));
        total = _mm512_add_ps(total, e);
        _mm512_mask_storeu_ps(s + p0, valid, e);
    }
    __m512 acc2[8];  /* odd rows: two FMA chains per column block instead of one */
    for (int c = 0; c < V; c++) acc2[c] = _mm512_setzero_ps();
    int p = 0;
    for (; p + 2 <= attended; p += 2) {
        const float *v0 = vr[p], *v1 = vr[p + 1];
        if (prefetch && p + 1 + PREFETCH_ROWS < attended)
            for (int c = 0; c < V; c++) {
                _mm_prefetch((const char *)(vr[p + PREFETCH_ROWS] + 16 * c), _MM_HINT_T0);
                _mm_prefetch((const char *)(vr[p + 1 + PREFETCH_ROWS] + 16 * c), _MM_HINT_T0);
            }
        const __m512 w0 = _mm512_set1_ps(s[p]), w1 = _mm512_set1_ps(s[p + 1]);
        for (int c = 0; c < V; c++) {
            acc[c] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(v0 + 16 * c), acc[c]);
            acc2[c] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(v1 + 16 * c), acc2[c]);
        }
    }
    if (p < attended) {
        const __m512 w0 = _mm512_set1_ps(s[p]);
        for (int c = 0; c < V; c++) acc[c] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(vr[p] + 16 * c), acc[c]);
    }
    for (int c = 0; c < V; c++) acc[c] = _mm512_add_ps(acc[c], acc2[c]);
    const __m512 inv = _mm512_set1_ps(1.f / _mm512_reduce_add_ps(total));
    for (int c = 0; c < V; c++) _mm512_storeu_ps(out + 16 * c, _mm512_mul_ps(acc[c], inv));
}

size_t ck_attention_scratch_bytes(int attended) {
    return (size_t)attended * 2 * sizeof(float *) + ((size_t)attended + 16) * sizeof(float);
}

int ck_attention_supported(int head_dim) {
    return ck_avx512_available() && (head_dim == 32 || head_dim == 64 || head_dim == 128);
}

A512 void ck_attend_group(const float *keys, const float *values, size_t block_stride, const int64_t *table,
                          int block_size, size_t row_floats, int attended, int group, int head_dim,
                          const float *q, float *out, void *scratch) {
    const float **kr = (const float **)scratch, **vr = kr + attended;
    float *scores = (float *)(vr + attended);
    for (int p0 = 0, b = 0; p0 < attended; p0 += block_size, b++) {  /* block by block: no division */
        const size_t base = (size_t)table[b] * block_stride;
        const int end = attended - p0 < block_size ? attended - p0 : block_size;
        for (int j = 0; j < end; j++) {
            kr[p0 + j] = keys + base + (size_t)j * row_floats;
            vr[p0 + j] = values + base + (size_t)j * row_floats;
        }
    }
    const float scale = 1.f / sqrtf((float)head_dim);
    for (int h = 0; h < group; h++) {
        const float *qh = q + (size_t)h * head_dim;
        float *oh = out + (size_t)h * head_dim;
        /* the other heads of the group find the rows in cache: no prefetch */
        switch (head_dim) {
        case 32: attend_head(2, kr, vr, attended, scale, h == 0, qh, scores, oh); break;
        case 64: attend_head(4, kr, vr, attended, scale, h == 0, qh, scores, oh); break;
        default: attend_head(8, kr, vr, attended, scale, h == 0, qh, scores, oh); break;
        }
    }
}
