#include "ckernels.h"
#include "q8_layout.h"
#include "specialize.h"

#include <cpuid.h>
#include <immintrin.h>
#include <stdlib.h>
#include <x86intrin.h>
#include <string.h>

#define WIDE __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))
#define INLINE static inline __attribute__((always_inline))
/* The weight prefetch of the row kernels (rows are contiguous, so it runs into the next
 * rows of the chunk). Intel cores here streamed weights faster with 2 KiB ahead into L1
 * at every row count (Experiments/performance, session 9). An AMD Zen 4 core streamed them
 * fastest with none for 1–2 activation rows, and 3–11 % faster per step with 6 KiB ahead
 * into L2 than with none (or 2 KiB into L1) from 3 rows (session 16). */
ck_prefetch ck_prefetch_few = {2048, 0}, ck_prefetch_many = {2048, 0};
int ck_prefetch_many_from = 3;

/* "<bytes>[l2]" → a prefetch; `fallback` when malformed or beyond 64 KiB. */
static ck_prefetch parse_prefetch(const char *s, ck_prefetch fallback) {
    char *end;
    const long v = strtol(s, &end, 10);
    if (end == s || v < 0 || v > (1 << 16)) return fallback;
    const ck_prefetch p = {(int)v & ~63, strncmp(end, "l2", 2) == 0 || strncmp(end, "L2", 2) == 0};
    return p;
}

__attribute__((constructor)) static void choose_weight_prefetch(void) {
    unsigned a, b, c, d;
    if (__get_cpuid(0, &a, &b, &c, &d) && b == 0x68747541 /* "Auth" */ && d == 0x69746E65 /* "enti" */) {
        const ck_prefetch none = {0, 0}, l2 = {6144, 1};
        ck_prefetch_few = none;
        ck_prefetch_many = l2;
    }
    const char *env = getenv("SPRIG_PREFETCH");
    if (env && *env >= '0' && *env <= '9') {   /* anything else: the defaults stand */
        ck_prefetch_few = ck_prefetch_many = parse_prefetch(env, ck_prefetch_few);
        const char *comma = strchr(env, ',');
        if (comma) {
            ck_prefetch_many = parse_prefetch(comma + 1, ck_prefetch_many);
            const char *third = strchr(comma + 1, ',');
            const int from = third ? atoi(third + 1) : 0;
            if (from >= 1) ck_prefetch_many_from = from;
        }
    }
}

static ck_prefetch whole_lines(ck_prefetch p) {
    p.bytes = p.bytes < 0 ? 0 : p.bytes & ~63;
    p.l2 = p.l2 != 0;
    return p;
}

void ck_set_weight_prefetch(ck_prefetch few, ck_prefetch many, int many_from) {
    ck_prefetch_few = whole_lines(few);
    ck_prefetch_many = whole_lines(many);
    ck_prefetch_many_from = many_from < 1 ? 1 : many_from;
}
ck_prefetch ck_get_weight_prefetch(int rows) { return weight_prefetch(rows); }
void ck_weight_prefetch_setting(ck_prefetch *few, ck_prefetch *many, int *many_from) {
    *few = ck_prefetch_few;
    *many = ck_prefetch_many;
    *many_from = ck_prefetch_many_from;
}

static int xcr0_has_zmm(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    (void)hi;
    /* SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM state enabled by the OS. */
    return (lo & 0xE6) == 0xE6;
}

uint64_t ck_ticks(void) { return __rdtsc(); }

int ck_avx512_available(void) {
    const char *off = getenv("SPRIG_NO_AVX512");
    if (off && *off && *off != '0') return 0;
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    int osxsave = (c >> 27) & 1, fma = (c >> 12) & 1, f16c = (c >> 29) & 1;
    if (!osxsave || !fma || !f16c) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    int f = (b >> 16) & 1, bw = (b >> 30) & 1, vl = (b >> 31) & 1;
    return f && bw && vl && xcr0_has_zmm();
}

INLINE WIDE float half_at(const uint8_t *p) {
    uint16_t h;
    __builtin_memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

/* Block decode: the 32 weights' q as two 16-lane float vectors (q[0..16), q[16..32)),
 * plus d and m with w = q·d + m. `format` is a constant after inlining. */
INLINE WIDE void decode(int format, const uint8_t *blk, __m512 *qlo, __m512 *qhi, float *d, float *m) {
    *d = half_at(blk);
    if (format == 2) {
        *qlo = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(blk + 2))));
        *qhi = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(blk + 18))));
        *m = 0;
        return;
    }
    const uint8_t *nib = blk + (format == 1 ? 4 : 2);
    __m512i bytes = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)nib));
    *qlo = _mm512_cvtepi32_ps(_mm512_and_si512(bytes, _mm512_set1_epi32(15)));
    *qhi = _mm512_cvtepi32_ps(_mm512_srli_epi32(bytes, 4));
    *m = format == 1 ? half_at(blk + 2) : -8 * *d;
}

/* Up to 8 activation rows, two accumulators per row (16 zmm): the block is scaled once
 * (w = q·d + m, two FMAs) and each row costs two FMAs with x as a memory operand. */
INLINE WIDE void rows_n(int format, int bb, const uint8_t *data, size_t row_bytes, int blocks, int lo,
                        int hi, const float *x, size_t xs, int n, float *y, size_t ys) {
    const ck_prefetch pf = weight_prefetch(n);
    for (int o = lo; o < hi; o++) {
        __m512 a[8], b[8];
        for (int r = 0; r < n; r++) { a[r] = _mm512_setzero_ps(); b[r] = _mm512_setzero_ps(); }
        const uint8_t *blk = data + (size_t)o * row_bytes;
        for (int k = 0; k < blocks; k++, blk += bb) {
            if (pf.bytes) prefetch_lines((const char *)blk + pf.bytes, 64, pf);
            __m512 qlo, qhi;
            float d, m;
            __m512 wlo, whi;
            if (format == 3) {   /* f32: the block is its 32 weights (two cache lines) */
                if (pf.bytes) prefetch_lines((const char *)blk + pf.bytes + 64, 64, pf);
                wlo = _mm512_loadu_ps((const float *)blk);
                whi = _mm512_loadu_ps((const float *)(blk + 64));
            } else if (format == 1) {
                /* d and m with one load and one conversion: [d, m, 0, 0]. */
                uint32_t dm;
                __builtin_memcpy(&dm, blk, 4);
                __m128 f = _mm_cvtph_ps(_mm_cvtsi32_si128((int)dm));
                __m512i bytes = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(blk + 4)));
                qlo = _mm512_cvtepi32_ps(_mm512_and_si512(bytes, _mm512_set1_epi32(15)));
                qhi = _mm512_cvtepi32_ps(_mm512_srli_epi32(bytes, 4));
                __m512 dv = _mm512_broadcastss_ps(f), mv = _mm512_broadcastss_ps(_mm_movehdup_ps(f));
                wlo = _mm512_fmadd_ps(qlo, dv, mv);
                whi = _mm512_fmadd_ps(qhi, dv, mv);
            } else {
                decode(format, blk, &qlo, &qhi, &d, &m);
                __m512 dv = _mm512_set1_ps(d);
                if (format == 2) {
                    wlo = _mm512_mul_ps(qlo, dv);
                    whi = _mm512_mul_ps(qhi, dv);
                } else {
                    __m512 mv = _mm512_set1_ps(m);
                    wlo = _mm512_fmadd_ps(qlo, dv, mv);
                    whi = _mm512_fmadd_ps(qhi, dv, mv);
                }
            }
            const float *xb = x + (size_t)k * 32;
            for (int r = 0; r < n; r++) {
                a[r] = _mm512_fmadd_ps(wlo, _mm512_loadu_ps(xb + r * xs), a[r]);
                b[r] = _mm512_fmadd_ps(whi, _mm512_loadu_ps(xb + r * xs + 16), b[r]);
            }
        }
        for (int r = 0; r < n; r++) y[r * ys + o] = _mm512_reduce_add_ps(_mm512_add_ps(a[r], b[r]));
    }
}

/* Constant format and row count per instantiation, so the loops above unroll. */
SPECIALIZE_ROWS(, ck_rows, rows_n, WIDE, float)

/* f32 weights through the same kernel (format 3: a row of `columns` floats is columns / 32
 * blocks of 128 bytes). */
SPECIALIZE_FORMAT(rows_f32, rows_n, WIDE, float, 3)

void ck_rows_f32(const float *w, int columns, int lo, int hi, const float *x, size_t x_stride, int n,
                 float *y, size_t y_stride) {
    rows_f32_f3((const uint8_t *)w, (size_t)columns * 4, columns / 32, lo, hi, x, x_stride, n, y, y_stride);
}

/* One row. Q4: Σ lo·xt[j] + byte·xt[j + 16] per block (= Σ q·x, see nibbleActivations),
 * scaled by d once; m·Σx from the block sums. Q8_0: Σ q·x scaled by d. Two blocks in
 * flight (two accumulators) to cover the FMA latency. */
INLINE WIDE void one_row(int format, int bb, const uint8_t *data, size_t row_bytes, int blocks, int lo,
                         int hi, const float *xt, const float *sums, float *y) {
    const ck_prefetch pf = weight_prefetch(1);
    const __m512i mask = _mm512_set1_epi32(15);
    for (int o = lo; o < hi; o++) {
        __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
        float s0 = 0, s1 = 0;
        const uint8_t *blk = data + (size_t)o * row_bytes;
        for (int k = 0; k < blocks; k++, blk += bb) {
            const float *xb = xt + (size_t)k * 32;
            if (pf.bytes) prefetch_lines((const char *)blk + pf.bytes, 64, pf);
            float d = half_at(blk);
            __m512 t;
            if (format == 2) {
                __m512 qlo = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(blk + 2))));
                __m512 qhi = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(blk + 18))));
                t = _mm512_mul_ps(qlo, _mm512_loadu_ps(xb));
                t = _mm512_fmadd_ps(qhi, _mm512_loadu_ps(xb + 16), t);
            } else {
                __m512i bytes = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(blk + (format == 1 ? 4 : 2))));
                t = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_and_si512(bytes, mask)), _mm512_loadu_ps(xb));
                t = _mm512_fmadd_ps(_mm512_cvtepi32_ps(bytes), _mm512_loadu_ps(xb + 16), t);
                float m = format == 1 ? half_at(blk + 2) : -8 * d;
                if (k & 1) s1 += m * sums[k]; else s0 += m * sums[k];
            }
            if (k & 1) acc1 = _mm512_fmadd_ps(_mm512_set1_ps(d), t, acc1);
            else acc0 = _mm512_fmadd_ps(_mm512_set1_ps(d), t, acc0);
        }
        y[o] = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1)) + (s0 + s1);
    }
}

static WIDE void one_f0(const uint8_t *d, size_t rb, int bl, int lo, int hi, const float *xt, const float *s, float *y) {
    one_row(0, 18, d, rb, bl, lo, hi, xt, s, y);
}
static WIDE void one_f1(const uint8_t *d, size_t rb, int bl, int lo, int hi, const float *xt, const float *s, float *y) {
    one_row(1, 20, d, rb, bl, lo, hi, xt, s, y);
}
static WIDE void one_f2(const uint8_t *d, size_t rb, int bl, int lo, int hi, const float *xt, const float *s, float *y) {
    one_row(2, 34, d, rb, bl, lo, hi, xt, s, y);
}

void ck_one_row(int format, const uint8_t *data, size_t row_bytes, int blocks, int lo, int hi,
                const float *xt, const float *sums, float *y) {
    switch (format) {
    case 0: one_f0(data, row_bytes, blocks, lo, hi, xt, sums, y); break;
    case 1: one_f1(data, row_bytes, blocks, lo, hi, xt, sums, y); break;
    default: one_f2(data, row_bytes, blocks, lo, hi, xt, sums, y); break;
    }
}

static WIDE float fma_loop(long iterations) {
    __m512 acc[16];
    for (int i = 0; i < 16; i++) acc[i] = _mm512_set1_ps((float)i * 1e-3f);
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (long it = 0; it < iterations; it++) {
        for (int i = 0; i < 16; i++) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    }
    __m512 s = acc[0];
    for (int i = 1; i < 16; i++) s = _mm512_add_ps(s, acc[i]);
    return _mm512_reduce_add_ps(s);
}

float ck_fma_loop512(long iterations) { return fma_loop(iterations); }

static _Thread_local int ck_worker_index_value;
void ck_set_worker_index(int index) { ck_worker_index_value = index; }
int ck_worker_index(void) { return ck_worker_index_value; }

void ck_prefetch_l2(const void *p, size_t bytes) {
    for (size_t i = 0; i < bytes; i += 64) _mm_prefetch((const char *)p + i, _MM_HINT_T1);
}
