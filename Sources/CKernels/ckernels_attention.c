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
#define CHUNK 16

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
 * kr, vr: row pointers of every attended position; q, out: [head_dim]. */
INL A512 void attend_head(const int V, const float *const *kr, const float *const *vr, int attended,
                          float scale, int prefetch, const float *q, float *out) {
    __m512 qv[8], acc[8];
    for (int c = 0; c < V; c++) {
        qv[c] = _mm512_loadu_ps(q + 16 * c);
        acc[c] = _mm512_setzero_ps();
    }
    float m = -INFINITY, l = 0.f;
    for (int p0 = 0; p0 < attended; p0 += CHUNK) {
        const int rows = attended - p0 < CHUNK ? attended - p0 : CHUNK;
        const float *const *k = kr + p0, *const *v = vr + p0;
        if (prefetch) {  /* the next chunk's K and V lines, while this one is computed */
            const int next = attended - p0 - rows < CHUNK ? attended - p0 - rows : CHUNK;
            for (int r = 0; r < next; r++)
                for (int c = 0; c < V; c++) {
                    _mm_prefetch((const char *)(k[rows + r] + 16 * c), _MM_HINT_T0);
                    _mm_prefetch((const char *)(v[rows + r] + 16 * c), _MM_HINT_T0);
                }
        }
        __m256 part[CHUNK];
        for (int r = 0; r < CHUNK; r++) {
            if (r >= rows) { part[r] = _mm256_setzero_ps(); continue; }
            __m512 s = _mm512_mul_ps(qv[0], _mm512_loadu_ps(k[r]));
            for (int c = 1; c < V; c++) s = _mm512_fmadd_ps(qv[c], _mm512_loadu_ps(k[r] + 16 * c), s);
            part[r] = _mm256_add_ps(_mm512_castps512_ps256(s),
                                    _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s), 1)));
        }
        __m256 lo = sum8(part[0], part[1], part[2], part[3], part[4], part[5], part[6], part[7]);
        __m256 hi = sum8(part[8], part[9], part[10], part[11], part[12], part[13], part[14], part[15]);
        const __mmask16 valid = (__mmask16)((1u << rows) - 1);
        const __m512 both = _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(lo)),
                                                                _mm256_castps_pd(hi), 1));
        __m512 s = _mm512_mul_ps(both, _mm512_set1_ps(scale));
        s = _mm512_mask_mov_ps(_mm512_set1_ps(-INFINITY), valid, s);
        const float cmax = _mm512_reduce_max_ps(s);
        const float newm = cmax > m ? cmax : m;
        if (newm > m) {  /* rescale what was accumulated under the old max (0 on the first chunk) */
            const float corr = expf(m - newm);
            l *= corr;
            for (int c = 0; c < V; c++) acc[c] = _mm512_mul_ps(acc[c], _mm512_set1_ps(corr));
            m = newm;
        }
        __m512 e = _mm512_maskz_mov_ps(valid, exp16(_mm512_sub_ps(s, _mm512_set1_ps(m))));
        l += _mm512_reduce_add_ps(e);
        float w[CHUNK];
        _mm512_storeu_ps(w, e);
        for (int r = 0; r < rows; r++) {
            const __m512 wb = _mm512_set1_ps(w[r]);
            for (int c = 0; c < V; c++) acc[c] = _mm512_fmadd_ps(wb, _mm512_loadu_ps(v[r] + 16 * c), acc[c]);
        }
    }
    const __m512 inv = _mm512_set1_ps(1.f / l);
    for (int c = 0; c < V; c++) _mm512_storeu_ps(out + 16 * c, _mm512_mul_ps(acc[c], inv));
}

int ck_attention_supported(int head_dim) {
    return ck_avx512_available() && (head_dim == 32 || head_dim == 64 || head_dim == 128);
}

A512 void ck_attend_group(const float *keys, const float *values, size_t block_stride, const int64_t *table,
                          int block_size, size_t row_floats, int attended, int group, int head_dim,
                          const float *q, float *out, const float **rows) {
    const float **kr = rows, **vr = rows + attended;
    for (int p = 0; p < attended; p++) {
        const size_t off = (size_t)table[p / block_size] * block_stride + (size_t)(p % block_size) * row_floats;
        kr[p] = keys + off;
        vr[p] = values + off;
    }
    for (int r = 0; r < (attended < CHUNK ? attended : CHUNK); r++) {  /* the first chunk */
        _mm_prefetch((const char *)kr[r], _MM_HINT_T0);
        _mm_prefetch((const char *)vr[r], _MM_HINT_T0);
    }
    const float scale = 1.f / sqrtf((float)head_dim);
    for (int h = 0; h < group; h++) {
        const float *qh = q + (size_t)h * head_dim;
        float *oh = out + (size_t)h * head_dim;
        /* the other heads of the group find the rows in cache: no prefetch */
        switch (head_dim) {
        case 32: attend_head(2, kr, vr, attended, scale, h == 0, qh, oh); break;
        case 64: attend_head(4, kr, vr, attended, scale, h == 0, qh, oh); break;
        default: attend_head(8, kr, vr, attended, scale, h == 0, qh, oh); break;
        }
    }
}
