/* Private to CKernels: one instantiation of a row kernel per (format, row count), so that
 * the kernel's loops over formats and rows unroll. A kernel has the signature
 *   kernel(int format, int block_bytes, const uint8_t *data, size_t row_bytes, int blocks,
 *          int lo, int hi, const IN *in, size_t in_stride, int n, float *y, size_t y_stride)
 * and is called with constant format (0 = Q4_0, 1 = Q4_1, 2 = Q8_0) and n (1..8; more
 * rows are the caller's to split). SPECIALIZE_ROWS(linkage, name, kernel, attr, IN) defines
 * `linkage void name(int format, …)` that dispatches to those instantiations. */
#ifndef SPRIG_SPECIALIZE_H
#define SPRIG_SPECIALIZE_H

/* Bytes per 32-weight block: Q4_0, Q4_1, Q8_0, and (3) plain f32 rows read as blocks. */
#define BLOCK_BYTES(f) ((f) == 0 ? 18 : (f) == 1 ? 20 : (f) == 2 ? 34 : 128)

#define SPECIALIZE_N(kernel, f, nn) \
    case nn: kernel(f, BLOCK_BYTES(f), data, row_bytes, blocks, lo, hi, in, in_stride, nn, y, y_stride); break;
#define SPECIALIZE_FORMAT(name, kernel, attr, IN, f) \
    static attr void name##_f##f(const uint8_t *data, size_t row_bytes, int blocks, int lo, int hi, \
                                 const IN *in, size_t in_stride, int n, float *y, size_t y_stride) { \
        switch (n) { SPECIALIZE_N(kernel, f, 1) SPECIALIZE_N(kernel, f, 2) SPECIALIZE_N(kernel, f, 3) \
                     SPECIALIZE_N(kernel, f, 4) SPECIALIZE_N(kernel, f, 5) SPECIALIZE_N(kernel, f, 6) \
                     SPECIALIZE_N(kernel, f, 7) default: SPECIALIZE_N(kernel, f, 8) } \
    }
#define SPECIALIZE_ROWS(linkage, name, kernel, attr, IN) \
    SPECIALIZE_FORMAT(name, kernel, attr, IN, 0) \
    SPECIALIZE_FORMAT(name, kernel, attr, IN, 1) \
    SPECIALIZE_FORMAT(name, kernel, attr, IN, 2) \
    linkage void name(int format, const uint8_t *data, size_t row_bytes, int blocks, int lo, int hi, \
                      const IN *in, size_t in_stride, int n, float *y, size_t y_stride) { \
        switch (format) { \
        case 0: name##_f0(data, row_bytes, blocks, lo, hi, in, in_stride, n, y, y_stride); break; \
        case 1: name##_f1(data, row_bytes, blocks, lo, hi, in, in_stride, n, y, y_stride); break; \
        default: name##_f2(data, row_bytes, blocks, lo, hi, in, in_stride, n, y, y_stride); break; \
        } \
    }

#endif
