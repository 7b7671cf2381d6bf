/* Micro-benchmark of ck_attend_group at SmolLM2-135M's shape (30 layers, 3 kv heads of
 * 64, 3 query heads per kv head, blocks of 4 positions): N sequences that share a prompt,
 * block tables shuffled through the pool as in a search tree. Prints thread CPU time
 * per decode step's attention and per (position, head).
 *
 *   gcc -O3 -ISources/CKernels/include Experiments/performance/attention_bench.c \
 *       Sources/CKernels/ckernels_attention.c Sources/CKernels/ckernels.c -lm -o /tmp/attention_bench
 *   /tmp/attention_bench ATTENDED SHARED [LAYERS] [ITERS]   (default 144 128 30 200)
 * LAYERS 1 keeps every row in cache (the kernel's own speed); 30 streams them. */
#include "ckernels.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    const int kvh = 3, hd = 64, bs = 4, group = 3, seqs = 4;
    const int attended = argc > 1 ? atoi(argv[1]) : 144, shared = argc > 2 ? atoi(argv[2]) : 128;
    const int layers = argc > 3 ? atoi(argv[3]) : 30, iters = argc > 4 ? atoi(argv[4]) : 200;
    if (!ck_attention_supported(hd) || attended > 4000 || shared > attended) { fprintf(stderr, "unsupported\n"); return 1; }
    const size_t rowf = (size_t)kvh * hd, part = bs * rowf, blockf = (size_t)layers * 2 * part;
    const int sharedBlocks = shared / bs, ownBlocks = (attended + bs - 1) / bs - sharedBlocks;
    const int nblocks = sharedBlocks + seqs * ownBlocks + 1;
    float *pool = aligned_alloc(64, (size_t)nblocks * blockf * sizeof(float));
    for (size_t i = 0; i < (size_t)nblocks * blockf; i++) pool[i] = (float)((i * 2654435761u) % 1000) / 1000.f - 0.5f;
    int *perm = malloc(sizeof(int) * nblocks);
    for (int i = 0; i < nblocks; i++) perm[i] = i;
    for (int i = nblocks - 1; i > 0; i--) { int j = rand() % (i + 1), t = perm[i]; perm[i] = perm[j]; perm[j] = t; }
    static int64_t tables[4][1024];
    int next = sharedBlocks;
    for (int s = 0; s < seqs; s++) {
        for (int b = 0; b < sharedBlocks; b++) tables[s][b] = perm[b];
        for (int b = 0; b < ownBlocks; b++) tables[s][sharedBlocks + b] = perm[next++];
    }
    float q[9 * 64], out[9 * 64];
    for (int i = 0; i < 9 * 64; i++) q[i] = (float)(i % 7) * 0.1f;
    void *scratch = malloc(ck_attention_scratch_bytes(attended));
    double t0 = now();
    for (int it = 0; it < iters; it++)
        for (int l = 0; l < layers; l++)
            for (int s = 0; s < seqs; s++) {
                const float *k = pool + (size_t)l * 2 * part, *v = k + part;
                ck_attend_group(k, v, blockf, tables[s], bs, rowf, attended, kvh * group, kvh, hd, q, out, scratch);
            }
    const double t = now() - t0, pairs = (double)iters * layers * seqs * kvh * group * attended;
    printf("attended %d, shared %d, layers %d: %.3f ms per step, %.2f ns per (position, head)\n",
           attended, shared, layers, t / iters * 1e3, t / pairs * 1e9);
    return 0;
}
