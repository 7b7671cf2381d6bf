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

/* y[r * y_stride + o] = Σ_c W[o, c] · x[r * x_stride + c] for o in [lo, hi), r < n,
 * 1 ≤ n ≤ 8. W rows are `row_bytes` apart from `data`; `blocks` blocks per row. */
void ck_rows(int format, const uint8_t *data, size_t row_bytes, int blocks, int lo, int hi,
             const float *x, size_t x_stride, int n, float *y, size_t y_stride);

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

#endif
