/* Private to CKernels: the parts shared by the VNNI kernels (ckernels_vnni.c on the GGUF
 * layout, ckernels_vnni_packed.c on weights packed at load): the last blocks % 16 blocks of
 * a row, two per zmm, and the 4-row horizontal sums. Needs q8_layout.h and immintrin.h. */
#ifndef SPRIG_Q8_VNNI_TAIL_H
#define SPRIG_Q8_VNNI_TAIL_H

typedef struct {
    __m512i nib_idx, scale_idx;   /* vpermb sources: n0 n0 n1 n1; the f16 scales in front */
    __mmask64 pair_mask, one_mask;
} q4_pair_plan;

Q8_INLINE Q8_VNNI q4_pair_plan make_plan(int format, int bb) {
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
Q8_INLINE Q8_VNNI void decode_pair(int format, int bb, const q4_pair_plan *plan, const uint8_t *blk, int two,
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
Q8_INLINE Q8_VNNI void store_sums(const __m512 *acc, int n, float *y, size_t ys, int o) {
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

/* acc[r] += the row's last `tail` (< 16) blocks at blk against the plain-layout activation
 * tail at tact (row r at tact + r · as), r < n: two blocks per zmm; Q8_0 as |w| against
 * sign(w)·xq, the Q4 offsets as Σ_k offset_k · s_k after the loop. */
Q8_INLINE Q8_VNNI void vnni_tail(int format, int bb, const q4_pair_plan *plan, const uint8_t *blk, int tail,
                                 const uint8_t *tact, size_t as, int n, __m512 *acc) {
    const __m512i zero = _mm512_setzero_si512();
    const int d1 = format == 1 ? 2 : 1, tq = q8_pad4(tail);
    const __m512i pair_lanes = _mm512_set_epi32(d1, d1, d1, d1, d1, d1, d1, d1, 0, 0, 0, 0, 0, 0, 0, 0);
    const uint8_t *txd8 = tact + plain_xd8(tq), *ts0 = tact + plain_s(tq);
    float offs[16];   /* [16] per-block offsets of the tail blocks (zero past them) */
    _mm512_storeu_ps(offs, _mm512_setzero_ps());
    for (int k = 0; k < tail; k += 2, blk += 2 * bb) {   /* the tail, two blocks at a time */
        const int two = k + 1 < tail;
        __m512i w;
        __mmask64 neg = 0;
        __m128 f;
        decode_pair(format, bb, plan, blk, two, &w, &neg, &f, offs + k);
        const __m512 dw = _mm512_permutexvar_ps(pair_lanes, _mm512_castps128_ps512(f));
        for (int r = 0; r < n; r++) {
            __m512i xq = _mm512_loadu_si512((const void *)(tact + r * as + (size_t)k * 32));
            if (format == 2) xq = _mm512_mask_sub_epi8(xq, neg, zero, xq);
            __m512i dot = _mm512_dpbusd_epi32(zero, w, xq);
            __m512 sc = _mm512_mul_ps(dw, _mm512_loadu_ps((const float *)(txd8 + r * as) + (size_t)k * 8));
            acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), sc, acc[r]);
        }
    }
    if (format != 2 && tail) {
        for (int r = 0; r < n; r++)   /* plain_s pads to 16 */
            acc[r] = _mm512_fmadd_ps(_mm512_loadu_ps(offs), _mm512_loadu_ps((const float *)(ts0 + r * as)), acc[r]);
    }
}

#endif
