/* AVX-512 paged attention for the heads that share one kv head (decode and prefill).
 *
 * Why C: the Swift kernel (Kernels/PagedAttention.swift, AVX2) spends most of its time
 * waiting on K/V rows. A sequence's blocks are far apart in the pool (a block holds every
 * layer of blockSize tokens), so the hardware prefetcher cannot follow a block table;
 * this kernel prefetches rows ahead of use, works on up to four heads of a kv group at
 * once (each K and V row is loaded once for all of them, which halved the time per
 * row and head), keeps q and the outputs in registers for the whole prefix, and folds
 * 4 dot products per hadd tree instead of one horizontal sum per row.
 *
 * Per head: s_r = (q · k_r) · scale, m = max s_r, w_r = exp(s_r − m), out = Σ w_r v_r / Σ w_r.
 * exp is the same range reduction and degree-6 polynomial as Ops.exp (Swift). */
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

/* [Σ y0, Σ y1, Σ y2, Σ y3]: four horizontal sums in one hadd tree. */
INL A512 __m128 sum4(__m256 y0, __m256 y1, __m256 y2, __m256 y3) {
    __m256 u = _mm256_hadd_ps(_mm256_hadd_ps(y0, y1), _mm256_hadd_ps(y2, y3));
    return _mm_add_ps(_mm256_castps256_ps128(u), _mm256_extractf128_ps(u, 1));
}

INL A512 __m256 fold256(__m512 d) {
    return _mm256_add_ps(_mm512_castps512_ps256(d), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(d), 1)));
}

/* 16 elements of a K or V row as f32: F16 (a compile-time constant) says the cache holds halves. */
INL A512 __m512 load16(const int F16, const void *row, int c) {
    return F16 ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)row + 16 * c)))
               : _mm512_loadu_ps((const float *)row + 16 * c);
}

/* G heads of one kv group together (G ≤ 4; G, V = head_dim / 16 and F16 are compile-time
 * constants at each call site), so every K and V row is loaded once for all G heads.
 * kr[p] + off, vr[p] + off: the kv head's K and V rows of every attended position;
 * q[h], out[h]: [head_dim]; s: [G, attended + 16] scratch for the scores. Three passes over
 * the prefix: scores (4 rows per hadd tree) and their max, the exponentials and their sum,
 * then Σ w_r v_r; no running-max rescale. With m_out (and l_out) the outputs are the
 * partial state of a merge: out = Σ w_r v_r unnormalised, m_out = max s_r, l_out = Σ w_r.
 * `prefetch` (the first pass over a kv head, which finds the rows cold) asks for K rows,
 * then V rows, PREFETCH_ROWS ahead. */
INL A512 void attend_heads(const int G, const int V, const int F16, const char *const *kr, const char *const *vr, size_t off,
                           int attended, float scale, int prefetch, const float *const *q, float *s, float *const *out,
                           float *m_out, float *l_out) {
    const size_t stride = (size_t)attended + 16;
    __m512 qv[4][8];
    for (int h = 0; h < G; h++)
        for (int c = 0; c < V; c++) qv[h][c] = _mm512_loadu_ps(q[h] + 16 * c);
    __m128 vmax[4];
    for (int h = 0; h < G; h++) vmax[h] = _mm_set1_ps(-INFINITY);
    for (int p0 = 0; p0 < attended; p0 += 4) {
        const int rows = attended - p0 < 4 ? attended - p0 : 4;
        __m256 part[4][4];
        for (int r = 0; r < 4; r++) {
            if (r >= rows) {
                for (int h = 0; h < G; h++) part[h][r] = _mm256_setzero_ps();
                continue;
            }
            const char *k = kr[p0 + r] + off;
            if (prefetch && p0 + r + PREFETCH_ROWS < attended)
                for (int b = 0; b < V * (F16 ? 32 : 64); b += 64) _mm_prefetch(kr[p0 + r + PREFETCH_ROWS] + off + b, _MM_HINT_T0);
            __m512 d[4];
            const __m512 k0 = load16(F16, k, 0);
            for (int h = 0; h < G; h++) d[h] = _mm512_mul_ps(qv[h][0], k0);
            for (int c = 1; c < V; c++) {
                const __m512 kc = load16(F16, k, c);
                for (int h = 0; h < G; h++) d[h] = _mm512_fmadd_ps(qv[h][c], kc, d[h]);
            }
            for (int h = 0; h < G; h++) part[h][r] = fold256(d[h]);
        }
        const __mmask8 valid = (__mmask8)((1u << rows) - 1);
        for (int h = 0; h < G; h++) {
            __m128 sc = _mm_mul_ps(sum4(part[h][0], part[h][1], part[h][2], part[h][3]), _mm_set1_ps(scale));
            sc = _mm_mask_mov_ps(_mm_set1_ps(-INFINITY), valid, sc);
            vmax[h] = _mm_max_ps(vmax[h], sc);
            _mm_storeu_ps(s + h * stride + p0, sc);  /* 16 floats of slack past attended */
        }
    }
    float total[4], maxes[4];
    for (int h = 0; h < G; h++) {
        __m128 m4 = _mm_max_ps(vmax[h], _mm_movehl_ps(vmax[h], vmax[h]));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        maxes[h] = _mm_cvtss_f32(m4);
        const __m512 mx = _mm512_set1_ps(maxes[h]);
        float *sh = s + h * stride;
        __m512 t = _mm512_setzero_ps();
        for (int p0 = 0; p0 < attended; p0 += 16) {
            const int rows = attended - p0 < 16 ? attended - p0 : 16;
            const __mmask16 valid = (__mmask16)((1u << rows) - 1);
            const __m512 e = _mm512_maskz_mov_ps(valid, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(valid, sh + p0), mx)));
            t = _mm512_add_ps(t, e);
            _mm512_mask_storeu_ps(sh + p0, valid, e);
        }
        total[h] = _mm512_reduce_add_ps(t);
    }
    __m512 acc[4][8];
    for (int h = 0; h < G; h++)
        for (int c = 0; c < V; c++) acc[h][c] = _mm512_setzero_ps();
    for (int p = 0; p < attended; p++) {
        const char *v = vr[p] + off;
        if (prefetch && p + PREFETCH_ROWS < attended)
            for (int b = 0; b < V * (F16 ? 32 : 64); b += 64) _mm_prefetch(vr[p + PREFETCH_ROWS] + off + b, _MM_HINT_T0);
        __m512 w[4];
        for (int h = 0; h < G; h++) w[h] = _mm512_set1_ps(s[h * stride + p]);
        for (int c = 0; c < V; c++) {
            const __m512 vc = load16(F16, v, c);
            for (int h = 0; h < G; h++) acc[h][c] = _mm512_fmadd_ps(w[h], vc, acc[h][c]);
        }
    }
    for (int h = 0; h < G; h++) {  /* normalised, or the partial state (Σ w v, max, Σ w) */
        const __m512 inv = _mm512_set1_ps(m_out ? 1.f : 1.f / total[h]);
        for (int c = 0; c < V; c++) _mm512_storeu_ps(out[h] + 16 * c, _mm512_mul_ps(acc[h][c], inv));
        if (m_out) { m_out[h] = maxes[h]; l_out[h] = total[h]; }
    }
}

/* Dispatch on (heads in this pass, head_dim / 16, element type) so all are constants inside. */
#define ATTEND_G(Vc, F)                                                                                    \
    switch (g) {                                                                                           \
    case 1: attend_heads(1, Vc, F, kr, vr, off, n, scale, first, qh, scores, oh, mh, lh); break;          \
    case 2: attend_heads(2, Vc, F, kr, vr, off, n, scale, first, qh, scores, oh, mh, lh); break;          \
    case 3: attend_heads(3, Vc, F, kr, vr, off, n, scale, first, qh, scores, oh, mh, lh); break;          \
    default: attend_heads(4, Vc, F, kr, vr, off, n, scale, first, qh, scores, oh, mh, lh); break;         \
    }
#define ATTEND_V(Vc) if (f16) { ATTEND_G(Vc, 1) } else { ATTEND_G(Vc, 0) }

/* kr/vr ← the row addresses of positions [lo, hi), block by block (no division per row);
 * strides in elements of `esize` bytes. */
INL void row_pointers(const char *keys, const char *values, size_t esize, size_t block_stride, const int64_t *table,
                      int block_size, size_t row_elems, int lo, int hi, const char **kr, const char **vr) {
    int p = lo;
    while (p < hi) {
        const int b = p / block_size, j0 = p - b * block_size;
        const size_t base = (size_t)table[b] * block_stride * esize;
        const int end = hi - p < block_size - j0 ? hi - p : block_size - j0;
        for (int j = 0; j < end; j++) {
            kr[p - lo + j] = keys + base + (size_t)(j0 + j) * row_elems * esize;
            vr[p - lo + j] = values + base + (size_t)(j0 + j) * row_elems * esize;
        }
        p += end;
    }
}

/* Kv heads [kv_first, kv_first + kv_count), nq query vectors each (qs, outs, m, l in that
 * order: kv head g's j-th at (g − kv_first) · nq + j), over rows [lo, hi). The row pointers
 * are built once for all kv heads; each kv head goes in passes of up to 4 queries (2 at
 * head size 128) so q and the accumulators stay in registers; the first pass prefetches. */
A512 static void attend_rows(const void *keys, const void *values, int f16, size_t block_stride, const int64_t *table,
                             int block_size, size_t row_elems, int lo, int hi, int kv_first, int kv_count, int nq,
                             int head_dim, const float *const *qs, float *const *outs, float *m, float *l,
                             void *scratch) {
    const int n = hi - lo;
    const char **kr = (const char **)scratch, **vr = kr + n;
    float *scores = (float *)(vr + n);
    const size_t esize = f16 ? 2 : 4;
    row_pointers(keys, values, esize, block_stride, table, block_size, row_elems, lo, hi, kr, vr);
    const float scale = 1.f / sqrtf((float)head_dim);
    const int per_pass = head_dim == 128 ? 2 : 4;
    for (int kv = 0; kv < kv_count; kv++) {
        const size_t off = (size_t)(kv_first + kv) * head_dim * esize;   /* bytes */
        for (int h = 0; h < nq; h += per_pass) {
            const int g = nq - h < per_pass ? nq - h : per_pass, j = kv * nq + h;
            const int first = h == 0;  /* later passes find the rows in cache: no prefetch */
            const float *const *qh = qs + j;
            float *const *oh = outs + j;
            float *mh = m ? m + j : 0, *lh = l ? l + j : 0;
            switch (head_dim) {
            case 32: ATTEND_V(2) break;
            case 64: ATTEND_V(4) break;
            default: ATTEND_V(8) break;
            }
        }
    }
}

size_t ck_attention_scratch_bytes(int attended) {
    return (size_t)attended * 2 * sizeof(float *) + 4 * ((size_t)attended + 16) * sizeof(float);
}

int ck_attention_supported(int head_dim) {
    return ck_avx512_available() && (head_dim == 32 || head_dim == 64 || head_dim == 128);
}

A512 void ck_attend_group(const void *keys, const void *values, int f16, size_t block_stride, const int64_t *table,
                          int block_size, size_t row_elems, int attended, int heads, int kv_heads, int head_dim,
                          const float *q, float *out, void *scratch) {
    const float *qs[CK_ATTENTION_MAX_HEADS];
    float *outs[CK_ATTENTION_MAX_HEADS];
    for (int h = 0; h < heads; h++) {  /* head h belongs to kv head h / (heads / kv_heads) */
        qs[h] = q + (size_t)h * head_dim;
        outs[h] = out + (size_t)h * head_dim;
    }
    attend_rows(keys, values, f16, block_stride, table, block_size, row_elems, 0, attended, 0, kv_heads,
                heads / kv_heads, head_dim, qs, outs, 0, 0, scratch);
}

A512 void ck_attend_partial(const void *keys, const void *values, int f16, size_t block_stride, const int64_t *table,
                            int block_size, size_t row_elems, int lo, int hi, int kv_first, int kv_count, int nq,
                            int head_dim, const float *const *qs, float *const *accs, float *m, float *l,
                            void *scratch) {
    attend_rows(keys, values, f16, block_stride, table, block_size, row_elems, lo, hi, kv_first, kv_count, nq, head_dim,
                qs, accs, m, l, scratch);
}

__attribute__((target("avx2,f16c"))) void ck_f32_to_f16(const float *src, uint16_t *dst, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) dst[i] = (uint16_t)_mm_extract_epi16(_mm_cvtps_ph(_mm_set_ss(src[i]), _MM_FROUND_TO_NEAREST_INT), 0);
}

__attribute__((target("avx2,f16c"))) void ck_f16_to_f32(const uint16_t *src, float *dst, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    for (; i < n; i++) dst[i] = _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(src[i])));
}
