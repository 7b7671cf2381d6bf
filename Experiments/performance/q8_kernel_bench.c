/* Kernel micro-benchmark: q8-activation (ck_q8_rows) vs f32-activation (ck_rows) products
 * on one thread, random weights that stay in L2, CPU time. Build and run from the repo root:
 *   clang -O3 -ISources/CKernels/include -ISources/CKernels -o /tmp/q8kb \
 *       Experiments/performance/q8_kernel_bench.c Sources/CKernels/ckernels*.c -lm
 *   /tmp/q8kb ROWS COLUMNS N FORMAT(0=Q4_0,1=Q4_1,2=Q8_0) VNNI(0|1) REPS
 * e.g. /tmp/q8kb 1536 576 4 1 1 500 (SmolLM2's gate/up shape, 4 sequences). */
#include "ckernels.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc < 7) { fprintf(stderr, "usage: %s ROWS COLUMNS N FORMAT VNNI REPS\n", argv[0]); return 1; }
    int rows = atoi(argv[1]), cols = atoi(argv[2]), n = atoi(argv[3]), fmt = atoi(argv[4]), vnni = atoi(argv[5]);
    long reps = atol(argv[6]);
    if (vnni && !ck_vnni_available()) { fprintf(stderr, "no AVX-512 VNNI here\n"); return 1; }
    int bb = fmt == 0 ? 18 : fmt == 1 ? 20 : 34, blocks = cols / 32;
    size_t rb = (size_t)blocks * bb;
    uint8_t *w = aligned_alloc(64, (rows * rb + 63) / 64 * 64);   /* [rows, rb] */
    for (size_t i = 0; i < rows * rb; i++) w[i] = (uint8_t)rand();
    for (int r = 0; r < rows; r++)
        for (int b = 0; b < blocks; b++) {   /* d = m = 2^-11 */
            uint16_t h = 0x1000;
            memcpy(w + r * rb + b * bb, &h, 2);
            if (fmt == 1) memcpy(w + r * rb + b * bb + 2, &h, 2);
        }
    float *x = malloc(sizeof(float) * n * cols);   /* [n, cols] */
    for (int i = 0; i < n * cols; i++) x[i] = (rand() % 2000 - 1000) / 1000.0f;
    size_t as = ck_q8_row_bytes(blocks);
    uint8_t *act = aligned_alloc(64, as * n);   /* [n, as] */
    float *y = malloc(sizeof(float) * n * rows);   /* [n, rows] */
    double t0 = now();
    for (long it = 0; it < reps; it++) {
        ck_q8_quantize(ck_q8_grouped(vnni, fmt), x, cols, n, blocks, act, as, 0);
        for (int r = 0; r < n; r += 8)
            ck_q8_rows(vnni, fmt, w, rb, blocks, 0, rows, act + r * as, as, n - r < 8 ? n - r : 8, y + r * rows, rows);
    }
    double tq = now() - t0;
    t0 = now();
    for (long it = 0; it < reps; it++)
        for (int r = 0; r < n; r += 8)
            ck_rows(fmt, w, rb, blocks, 0, rows, x + r * cols, cols, n - r < 8 ? n - r : 8, y + r * rows, rows);
    double tf = now() - t0, macs = (double)rows * cols * n * reps;
    printf("rows %d columns %d n %d format %d: q8 (vnni %d) %.1f GMAC/s, f32 %.1f GMAC/s, ratio %.2f\n", rows, cols,
           n, fmt, vnni, macs / tq / 1e9, macs / tf / 1e9, tf / tq);
    if (vnni) {   /* the same product on row tiles (ck_pack_tiles), activations in the lanes layout */
        uint8_t *wt = aligned_alloc(64, (ck_tiles_bytes(fmt, blocks, rows) + 63) / 64 * 64);
        ck_pack_tiles(fmt, w, rb, blocks, rows, wt);
        float *yt = malloc(sizeof(float) * n * rows);   /* [n, rows] */
        t0 = now();
        for (long it = 0; it < reps; it++) {
            ck_q8_quantize(2, x, cols, n, blocks, act, as, vnni);
            for (int r = 0; r < n; r += 8)
                ck_q8_tiles(fmt, wt, 0, blocks, 0, rows, act + r * as, as, n - r < 8 ? n - r : 8, yt + r * rows, rows);
        }
        double tt = now() - t0, err = 0, mag = 0;
        ck_q8_quantize(ck_q8_grouped(vnni, fmt), x, cols, n, blocks, act, as, 0);   /* y: the transposing kernel's */
        for (int r = 0; r < n; r += 8)
            ck_q8_rows(vnni, fmt, w, rb, blocks, 0, rows, act + r * as, as, n - r < 8 ? n - r : 8, y + r * rows, rows);
        for (int i = 0; i < n * rows; i++) {
            const double e = yt[i] > y[i] ? yt[i] - y[i] : y[i] - yt[i], a = y[i] < 0 ? -y[i] : y[i];
            if (e > err) err = e;
            if (a > mag) mag = a;
        }
        printf("  tiles: %.1f GMAC/s, %.2f x the transposing q8 kernel, max |difference| %.2g (max |y| %.3g)\n",
               macs / tt / 1e9, tq / tt, err, mag);
    }
    return 0;
}
