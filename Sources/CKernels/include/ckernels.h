#ifndef SPRIG_CKERNELS_H
#define SPRIG_CKERNELS_H

#include <stddef.h>
#include <stdint.h>

/* AVX-512 kernels for the block formats, chosen at run time (the Swift code is built
 * for -target-cpu haswell, i.e. AVX2 + FMA). Called only from the Kernels module.
 *
 * Formats (llama.cpp layouts, 32 weights per block along a row):
 *   0 = Q4_0: f16 d, 16 B nibbles              w = (q - 8)·d   (18 B)
 *   1 = Q4_1: f16 d, f16 m, 16 B nibbles       w = q·d + m     (20 B)
 *   2 = Q8_0: f16 d, 32 × int8                 w = q·d         (34 B)
 * Nibble byte j holds q[j] (low) and q[j + 16] (high). */

/* 1 when the CPU and OS support AVX-512 F + BW (+ F16C, FMA) and SPRIG_NO_AVX512 is
 * not set in the environment; 0 otherwise. */
int ck_avx512_available(void);

/* The time-stamp counter (rdtsc): a few ns to read, against ~25 for clock_gettime and more
 * through Dispatch. Invariant TSCs tick at a constant rate; callers scale ticks by a
 * clock-measured interval around them rather than assume a frequency. */
uint64_t ck_ticks(void);

/* y[r * y_stride + o] = Σ_c W[o, c] · x[r * x_stride + c] for o in [lo, hi), r < n,
 * 1 ≤ n ≤ 8. W rows are `row_bytes` apart from `data`; `blocks` blocks per row. */
void ck_rows(int format, const uint8_t *data, size_t row_bytes, int blocks, int lo, int hi,
             const float *x, size_t x_stride, int n, float *y, size_t y_stride);

/* ck_rows for f32 weights W [rows, columns] (columns a multiple of 32): y[r * y_stride + o] =
 * Σ_c W[o, c] · x[r * x_stride + c] for o in [lo, hi), r < n, 1 ≤ n ≤ 8. AVX-512 only. */
void ck_rows_f32(const float *w, int columns, int lo, int hi, const float *x, size_t x_stride, int n,
                 float *y, size_t y_stride);

/* One activation row of Q4_0/Q4_1, with the activations transformed as
 * QuantizedMatrix.nibbleActivations writes them (xt [blocks * 32]) and the block sums
 * of the original row (sums [blocks]): y[o] for o in [lo, hi). Q8_0: xt is the plain
 * row and sums is unused. */
void ck_one_row(int format, const uint8_t *data, size_t row_bytes, int blocks, int lo, int hi,
                const float *xt, const float *sums, float *y);

/* 16 independent 16-lane FMA chains for `iterations` rounds, register-resident (the
 * compute roofline on AVX-512 machines: 256 FMA lanes per round). Call only when
 * ck_avx512_available(). Returns a checksum so the loop is kept. */
float ck_fma_loop512(long iterations);

/* How the product kernels prefetch weights: `bytes` ahead of the stream (0: none), into L1
 * (prefetcht0) or, with `l2`, into L2 (prefetcht1); `few` for calls with fewer than
 * `many_from` activation rows, `many` for the rest. Chosen at load by CPU vendor (Intel and
 * others: 2048 into L1 for every call; AMD: none below 3 rows, 6144 into L2 from 3) unless
 * SPRIG_PREFETCH="<few>,<many>[,<many_from>]" is set (each in bytes, "l2" appended for
 * L2, e.g. "0,6144l2,3"). Set them before products run. */
typedef struct { int bytes, l2; } ck_prefetch;
void ck_set_weight_prefetch(ck_prefetch few, ck_prefetch many, int many_from);
/* The prefetch a product call with `rows` activation rows uses; the whole setting. */
ck_prefetch ck_get_weight_prefetch(int rows);
void ck_weight_prefetch_setting(ck_prefetch *few, ck_prefetch *many, int *many_from);

/* Prefetches [p, p + bytes) into L2 (prefetcht1, one per 64-byte line; never faults). */
void ck_prefetch_l2(const void *p, size_t bytes);

/* The calling thread's index in its worker pool (set by each worker when it starts;
 * 0 on every other thread). Lets a pool job keep per-thread scratch. */
void ck_set_worker_index(int index);
int ck_worker_index(void);

/* ---- Int8 activations (q8 mode: search/bench default, --activations / SPRIG_ACTIVATIONS; ckernels_q8.c) ----
 * Each activation row is quantized to Q8 blocks of 32: dx = max|x| / 127 per block,
 * xq = round(x / dx) in [-127, 127], s = dx · Σxq. y[o] = Σ_k d_k·dx_k·I_k + off_k·s_k with
 * I_k the integer dot of the block's weights (Q4: q in 0..15; Q8_0: q) with xq, and
 * off_k = m_k (Q4_1), −8·d_k (Q4_0), 0 (Q8_0). */

/* 1 when ck_avx512_available() and the CPU has AVX512_VNNI and AVX512_VBMI. */
int ck_vnni_available(void);
/* vpdpbusd throughput probe (Roofline.measureInt8): 12 · 64 multiply-adds per iteration. */
int ck_vnni_peak_loop(long iterations);

/* The `grouped` flag ck_q8_quantize needs for ck_q8_rows(vnni, format, …): 1 for VNNI and
 * for the AVX2 Q4 kernels, 0 for AVX2 Q8_0. */
int ck_q8_grouped(int vnni, int format);

/* Bytes of one quantized activation row for `blocks` blocks (a multiple of 64). */
size_t ck_q8_row_bytes(int blocks);

/* Quantizes n rows of x (row r at x + r · x_stride floats, blocks · 32 columns) into
 * act (row r at act + r · act_stride bytes, act_stride ≥ ck_q8_row_bytes(blocks)) in one of
 * three layouts (q8_layout.h): 0 = plain (xq int8 [bq · 32] at byte 0, dx f32 [bq · 8] (each
 * block's scale repeated 8 times) at bq · 32, s f32 [bs] at bq · 64, with bq = blocks rounded
 * up to 4 and bs = bq rounded up to 16; padding zero); 1 = grouped (16-block groups,
 * transposed, then the last blocks % 16 plain; ck_q8_rows reads layout ck_q8_grouped(vnni,
 * format)); 2 = lanes (ck_q8_tiles). Needs AVX2 + F16C (the package's baseline); wide != 0
 * (only when ck_vnni_available()) quantizes the lanes layout 16 lanes at a time, the same bytes. */
void ck_q8_quantize(int layout, const float *x, size_t x_stride, int n, int blocks, uint8_t *act, size_t act_stride,
                    int wide);
/* out [rows, inter] = silu(g) · u = g / (1 + e^−g) · u, where each gate_up row is
 * [g (inter) | u (inter)]; e^x by the steps of Ops.exp (bit-identical to it). wide != 0:
 * 16-lane AVX-512 (only when ck_avx512_available()), else 8-lane AVX2; the same values. */
void ck_silu_mul(const float *gate_up, int rows, int inter, float *out, int wide);

/* y[r · y_stride + o] for o in [lo, hi), r < n, 1 ≤ n ≤ 8, from quantized activation rows
 * (act, act_stride as written by ck_q8_quantize with grouped = ck_q8_grouped(vnni, format)). vnni != 0: AVX-512
 * VNNI (vpdpbusd; only when ck_vnni_available()); 0: AVX2 (vpmaddubsw). */
void ck_q8_rows(int vnni, int format, const uint8_t *data, size_t row_bytes, int blocks, int lo, int hi,
                const uint8_t *act, size_t act_stride, int n, float *y, size_t y_stride);

/* Bytes of `rows` rows of `blocks` blocks as row tiles (ck_pack_tiles): whole tiles of 16 rows. */
size_t ck_tiles_bytes(int format, int blocks, int rows);

/* Weights re-laid-out as row tiles for ck_q8_tiles (ckernels_vnni_tiles.c): per tile of 16
 * rows and per block, the 16 rows' quants interleaved 4 bytes per lane (Q8_0's biased to
 * u8), then their scales (and Q4_1's minimums); the last partial tile padded with zero
 * rows. dst holds ck_tiles_bytes(format, blocks, rows). Plain C: callable anywhere. */
void ck_pack_tiles(int format, const uint8_t *src, size_t row_bytes, int blocks, int rows, uint8_t *dst);

/* y[r · y_stride + o] for o in [lo, hi) (lo a multiple of 16, hi ≤ the matrix's rows), r < n,
 * 1 ≤ n ≤ 8, on tiles from ck_pack_tiles (data; row_bytes unused) and activations in the
 * lanes layout (ck_q8_quantize layout 2). Only when ck_vnni_available(). */
void ck_q8_tiles(int format, const uint8_t *data, size_t row_bytes, int blocks, int lo, int hi,
                 const uint8_t *act, size_t act_stride, int n, float *y, size_t y_stride);

/* ---- Attention (ckernels_attention.c) ---- */

/* Σ exp(raw[i] − shift) − exp(lowered[i] − shift) over [0, count), eight terms at a time
 * in f32 (Ops.exp's polynomial), each vector's sum added in f64 (the sampler's repetition
 * penalty undone for the model's normaliser). AVX2 + FMA. */
double ck_swap_sum(const float *raw, const float *lowered, int count, float shift);

/* The repetition penalty's pass: for each id t of prev[0, count) inside [0, n) with
 * stamps[t] ≠ stamp, in order: stamps[t] = stamp, ids/raw/lowered[k] = t, row[t], and the
 * penalised value (row[t] / penalty when its sign bit is clear, row[t] · penalty when set),
 * which also replaces row[t]. Returns k, the number penalised. AVX2. */
int ck_penalize(float *row, int64_t n, const int64_t *prev, int64_t count, float penalty,
                uint32_t *stamps, uint32_t stamp, int64_t *ids, float *raw, float *lowered);

/* SamplingStats.pass (Kernels/SamplingKernels.swift) with 16-lane exponentials: the same
 * chunk maxima, sums (in the Swift accumulators' order), stored exponentials and candidates,
 * bit for bit; an 8-entry group whose exponents are all below −cut contributes 0.
 * plain_sums, candidates and exps may be NULL. Only when ck_avx512_available(). */
int ck_sampling_pass(const float *x, int count, float scale, float *maxes, double *scaled_sums,
                     double *plain_sums, float window, int32_t *candidates, int capacity, float *exps,
                     float cut);

/* Buffers of ck_fused_sample for a row of n logits (the caller owns them). */
typedef struct {
    uint32_t *stamps;        /* [n] == stamp: penalised in this call (ck_penalize) */
    uint32_t stamp;          /* this call's, never 0: the caller steps it before each call */
    int64_t *ids;            /* [n + 8] penalised ids, first occurrence first */
    float *raw, *lowered;    /* [n + 8] their raw and penalised logits, −∞-padded to a multiple of 8 */
    float *exps;             /* [n] the pass's exponentials (plain draws) */
    int32_t *candidates;     /* [capacity] */
    float *pair_e;           /* [capacity] the nucleus's probabilities (unnormalised), sorted */
    int32_t *pair_id;        /* [capacity] their ids */
    int capacity;
    float *maxes;            /* [(n + 255) / 256] */
    double *scaled_sums, *plain_sums, *factors;   /* [same] */
} ck_fused_space;

/* Sampler.sample's tempered draw in one call, the same numbers bit for bit: the repetition
 * penalty on prev[0, prev_count) (none when prev_count is 0), ck_sampling_pass, the
 * normalisers, then either the nucleus (top_p < 1 or top_k > 0) or a plain draw (the chunk
 * walk over stored exponentials), with the SplitMix64 state *rng. Returns the token and
 * sets *log_prob (under the raw logits), or returns −1 when more than w->capacity
 * candidates qualify or they do not cover top-p (the caller's second pass): then *rng is
 * untouched. The row is restored either way. n < 8192 for the nucleus (one thread's pass),
 * n ≤ 4096 for plain draws (stored exponentials). Only when ck_avx512_available(). */
int ck_fused_sample(float *row, int n, const int64_t *prev, int64_t prev_count, float penalty,
                    float inv_t, float window, float cut, double top_p, int top_k, uint64_t *rng,
                    const ck_fused_space *w, double *log_prob);

/* The most query heads ck_attend_group takes in one call. */
#define CK_ATTENTION_MAX_HEADS 256

/* 1 when ck_avx512_available() and head_dim is 32, 64 or 128 (what the kernels handle). */
int ck_attention_supported(int head_dim);

/* K/V elements: f32, or f16 (IEEE half, F16C conversions; halves the bytes attention
 * reads, as llama.cpp's default cache type). `f16` below is 0 or 1. */

/* One query's `heads` heads (heads ≤ CK_ATTENTION_MAX_HEADS, a multiple of kv_heads; head h
 * reads kv head h / (heads / kv_heads)) attend to positions [0, attended) of a paged cache:
 * position p's key row is keys + table[p / block_size] · block_stride + (p % block_size) ·
 * row_elems elements (values alike), kv head g's part at + g · head_dim. q, out:
 * [heads, head_dim]; scale 1/sqrt(head_dim); scratch: ck_attention_scratch_bytes(attended)
 * bytes. Only when ck_attention_supported(head_dim). */
void ck_attend_group(const void *keys, const void *values, int f16, size_t block_stride, const int64_t *table,
                     int block_size, size_t row_elems, int attended, int heads, int kv_heads, int head_dim,
                     const float *q, float *out, void *scratch);

/* The partial state, over positions [lo, hi) (rows as in ck_attend_group), of nq query
 * vectors for each kv head g in [kv_first, kv_first + kv_count); the j-th of kv head g is at
 * index i = (g − kv_first) · nq + j of qs, accs, m, l: accs[i] = Σ_r w_r v_r [head_dim] with
 * w_r = exp(s_r − m[i]), m[i] = max_r s_r, l[i] = Σ_r w_r, s_r = (q_i · k_r) / sqrt(head_dim),
 * for merging with other ranges. Siblings in a search tree share their prefix blocks: one
 * call covers every sibling's queries, so the shared rows are read once.
 * scratch: ck_attention_scratch_bytes(hi − lo). */
void ck_attend_partial(const void *keys, const void *values, int f16, size_t block_stride, const int64_t *table,
                       int block_size, size_t row_elems, int lo, int hi, int kv_first, int kv_count, int nq,
                       int head_dim, const float *const *qs, float *const *accs, float *m, float *l,
                       void *scratch);

/* dst[i] = f16(src[i]) (round to nearest even), and back; i < n. F16C: any AVX2 CPU. */
void ck_f32_to_f16(const float *src, uint16_t *dst, size_t n);
void ck_f16_to_f32(const uint16_t *src, float *dst, size_t n);

/* Scratch bytes either kernel needs: 2 · attended row pointers and 4 · (attended + 16) scores. */
size_t ck_attention_scratch_bytes(int attended);

#endif
