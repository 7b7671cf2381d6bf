/* Private to CKernels: layouts of the quantized activation rows (ck_q8_quantize) shared by
 * the AVX2 (ckernels_q8.c) and VNNI (ckernels_vnni.c) kernels, and the weight prefetch that
 * every product kernel (these and ckernels.c's f32-activation ones) takes per call. */
#ifndef SPRIG_Q8_LAYOUT_H
#define SPRIG_Q8_LAYOUT_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#include "ckernels.h"

#define Q8_AVX2 __attribute__((target("avx2,fma,f16c")))
#define Q8_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx512vbmi,avx2,fma,f16c")))
#define Q8_INLINE static inline __attribute__((always_inline))
/* How a product kernel call with `rows` activation rows prefetches its weights (ckernels.c
 * chooses per CPU): `bytes` ahead of the stream (0: none), into L1 or, with `l2`, into L2. */
extern ck_prefetch ck_prefetch_few, ck_prefetch_many;
extern int ck_prefetch_many_from;
static inline ck_prefetch weight_prefetch(int rows) {
    return rows >= ck_prefetch_many_from ? ck_prefetch_many : ck_prefetch_few;
}
/* Prefetches the 64-byte lines of [p, p + bytes) into the level `pf` names. */
static inline __attribute__((always_inline)) void prefetch_lines(const char *p, int bytes, ck_prefetch pf) {
    if (pf.l2) for (int b = 0; b < bytes; b += 64) _mm_prefetch(p + b, _MM_HINT_T1);
    else for (int b = 0; b < bytes; b += 64) _mm_prefetch(p + b, _MM_HINT_T0);
}

/* Plain layout (AVX2 kernels and the VNNI tail), bq = blocks rounded up to 4, bs = bq
 * rounded up to 16: xq int8 [bq · 32] at 0; xd8 f32 [bq · 8] (each block's dx repeated 8
 * times) at bq · 32; s f32 [bs] (dx · Σxq) at bq · 64. Padding blocks are all zero. */
Q8_INLINE int q8_pad4(int blocks) { return (blocks + 3) & ~3; }
Q8_INLINE int q8_pad16(int blocks) { return (blocks + 15) & ~15; }
Q8_INLINE size_t plain_xd8(int bq) { return (size_t)bq * 32; }
Q8_INLINE size_t plain_s(int bq) { return (size_t)bq * 64; }
Q8_INLINE size_t plain_bytes(int blocks) { return plain_s(q8_pad4(blocks)) + (size_t)q8_pad16(q8_pad4(blocks)) * 4; }

/* Grouped layout (VNNI): G = blocks / 16 groups of 16 blocks, then the T = blocks % 16 tail
 * blocks in the plain layout. In a group, block b sits at position q8_perm(b) (the order
 * a 4 × 4 dword transpose of four 4-block loads produces) and vector j (0..7, 64 bytes)
 * holds bytes [4j, 4j + 4) of the 16 blocks' xq, so vpdpbusd over j = 0..7 sums each
 * block in one lane. Per group: xq [512 B] at g · 512; dx f32 [16] at G · 512 + g · 64;
 * s f32 [16] at G · 576 + g · 64; −8·Σxq int32 [16] at G · 640 + g · 64; −128·Σxq int32
 * [16] at G · 704 + g · 64; the tail (plain layout of T blocks) at G · 768. */
Q8_INLINE int q8_perm(int b) { return 4 * (b & 3) + (b >> 2); }
Q8_INLINE size_t grouped_tail(int groups) { return (size_t)groups * 768; }
Q8_INLINE size_t grouped_bytes(int blocks) {
    return grouped_tail(blocks / 16) + (blocks % 16 ? plain_bytes(blocks % 16) : 0);
}

/* Lanes layout (the row-tile kernel, ckernels_vnni_tiles.c): xq int8 [blocks · 32] at 0, in
 * block order; dx f32 [blocks]; s f32 [blocks] (dx · Σxq); −8·Σxq int32 [blocks];
 * −128·Σxq int32 [blocks]: 48 bytes per block, the same as the grouped layout. */
Q8_INLINE size_t lanes_dx(int blocks) { return (size_t)blocks * 32; }
Q8_INLINE size_t lanes_s(int blocks) { return (size_t)blocks * 36; }
Q8_INLINE size_t lanes_c8(int blocks) { return (size_t)blocks * 40; }
Q8_INLINE size_t lanes_c128(int blocks) { return (size_t)blocks * 44; }
Q8_INLINE size_t lanes_bytes(int blocks) { return (size_t)blocks * 48; }

void q8_rows_vnni(int format, const uint8_t *data, size_t row_bytes, int blocks, int lo, int hi,
                  const uint8_t *act, size_t act_stride, int n, float *y, size_t y_stride);

#endif
