/* Back-to-back q8 row-tile products on cold weights, two threads, a static half each and a
 * spin barrier after every product: what the decode step's products reach when nothing
 * else runs between them (no quantization, no pool, no prefetch hand-off). Compare with
 * the per-product times the forward pass spends (Experiments/performance/README.md,
 * session 11) to see what the engine loses around the kernels.
 *
 * Build (repository root):
 *   clang -O3 -ISources/CKernels/include -ISources/CKernels Experiments/performance/product_stream.c \
 *         Sources/CKernels/*.c -o /tmp/product_stream -lm -lpthread
 * Run: /tmp/product_stream ROWS BLOCKS [FORMAT]   (FORMAT 0 Q4_0, 1 Q4_1 (default), 2 Q8_0)
 *   SmolLM2's shapes: 960 18 (q/k/v), 576 18 (o), 3072 18 (gate/up), 576 48 (down), 49152 18 2 (LM head).
 * Needs AVX-512 VNNI (ck_q8_tiles). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ckernels.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

enum { N = 4 };   /* activation rows (sibling branches) */
static int format = 1, blocks, rows, products;
static size_t product_bytes, stride;
static uint8_t *tiles, *act;
static float *y;
static atomic_int arrived;

/* Both threads wait until both have finished product `k` (generation k + 1). */
static void barrier(int k) {
    atomic_fetch_add(&arrived, 1);
    while (atomic_load(&arrived) < 2 * (k + 1)) {}
}

static void run(int half) {
    const int split = rows / 2 & ~15;   /* whole tiles of 16 rows */
    for (int k = 0; k < products; k++) {
        const uint8_t *m = tiles + (size_t)k * product_bytes;
        ck_q8_tiles(format, m, 0, blocks, half ? split : 0, half ? rows : split, act, stride, N, y, rows);
        barrier(k);
    }
}

static void *worker(void *unused) {
    (void)unused;
    run(1);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 3 || !ck_vnni_available()) {
        fprintf(stderr, "usage: %s ROWS BLOCKS [FORMAT] (needs AVX-512 VNNI)\n", argv[0]);
        return 2;
    }
    rows = atoi(argv[1]);
    blocks = atoi(argv[2]);
    if (argc > 3) format = atoi(argv[3]);
    product_bytes = ck_tiles_bytes(format, blocks, rows);
    products = (int)((256ull << 20) / product_bytes);   /* 256 MiB of weights: far beyond the L3 */
    if (products < 2) products = 2;
    tiles = aligned_alloc(64, product_bytes * products);
    memset(tiles, 0x35, product_bytes * products);       /* f16 scales 0x3535 ≈ 0.33: normal numbers */
    stride = ck_q8_row_bytes(blocks);
    act = aligned_alloc(64, N * stride);
    float *x = malloc(sizeof(float) * N * blocks * 32);
    for (int i = 0; i < N * blocks * 32; i++) x[i] = (float)((i * 7919) % 2000) / 1000.0f - 1;
    ck_q8_quantize(2, x, (size_t)blocks * 32, N, blocks, act, stride, 1);
    y = aligned_alloc(64, sizeof(float) * N * (size_t)(rows + 16));
    for (int rep = 0; rep < 4; rep++) {
        atomic_store(&arrived, 0);
        pthread_t t;
        const double t0 = now();
        pthread_create(&t, NULL, worker, NULL);
        run(0);
        pthread_join(t, NULL);
        const double s = now() - t0;
        printf("%d rows x %d blocks, format %d (%zu KB) x %d: %.1f GB/s, %.1f us per product\n", rows, blocks, format,
               product_bytes / 1024, products, product_bytes * products / s / 1e9, s / products * 1e6);
    }
    return 0;
}
