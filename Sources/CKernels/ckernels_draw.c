/* The sampler's common draws in one call (Sampler.sample's tempered paths, plain and
 * nucleus, for rows short enough for one thread): repetition penalty, the one-pass
 * statistics, both normalisers, the nucleus or the chunk walk, and the draw. Why C: after
 * a forward has streamed the model's weights through L2, the Swift path's code across a
 * dozen functions (and the Swift runtime's retains and uniqueness checks) came back from
 * L3 on the first draw of every step; this is one short run of code with no runtime calls
 * but libm's exp and log.
 *
 * Every number is the Swift path's, bit for bit (tested: token, log-probability, restored
 * row, generator state): the same operations in the same order, no contraction into fused
 * multiply-adds, and the same libm calls. */
#include "ckernels.h"

#include <math.h>
#include <stdint.h>

#pragma clang fp contract(off)

/* Swift.max(a, b): b ≥ a ? b : a. */
static inline float max_f(float a, float b) { return b >= a ? b : a; }

/* SplitMix64.next(). */
static inline uint64_t splitmix_next(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Whether candidate (e, id) a comes before b: larger probability first, then smaller id. */
static inline int before(float ea, int32_t ia, float eb, int32_t ib) { return ea > eb || (ea == eb && ia < ib); }

/* Σ of 8 floats in lane order from −0 (SIMD8<Float>.sum()). */
static inline float sum8(const float *e) {
    float s = -0.f;
    for (int l = 0; l < 8; l++) s += e[l];
    return s;
}

/* SamplingStats.walk over stored exponentials: the first index of [lo, hi) where
 * u − Σ e · factor drops below 0, or −1 (rounding). */
static int walk_stored(const float *exps, int lo, int hi, double factor, double u) {
    for (int i = lo; i < hi; i += 8) {
        const int lanes = hi - i < 8 ? hi - i : 8;
        float e[8] = {0};
        for (int l = 0; l < lanes; l++) e[l] = exps[i + l];
        const double block = (double)sum8(e) * factor;
        if (u - block >= 0) { u -= block; continue; }
        for (int l = 0; l < lanes; l++) {
            u -= (double)e[l] * factor;
            if (u < 0) return i + l;
        }
        return i + lanes - 1;
    }
    return -1;
}

__attribute__((target("avx2,fma")))
int ck_fused_sample(float *row, int n, const int64_t *prev, int64_t prev_count, float penalty, float inv_t,
                    float window, float cut, double top_p, int top_k, uint64_t *rng, const ck_fused_space *w,
                    double *log_prob) {
    const int nucleus = top_p < 1 || top_k > 0;
    /* 1. The penalty, in place, each distinct id of prev once in order of first occurrence
     *    (RepetitionPenalty.apply's kernel, with the space's stamps). */
    int k = 0;
    if (prev_count > 0) {
        k = ck_penalize(row, n, prev, prev_count, penalty, w->stamps, w->stamp, w->ids, w->raw, w->lowered);
        for (int q = k; q < (k + 7) / 8 * 8; q++) { w->raw[q] = -INFINITY; w->lowered[q] = -INFINITY; }
    }
    /* 2. Chunk maxima and sums, candidates near the running max. */
    const int chunks = (n + 255) / 256;
    double *plain = inv_t == 1.f ? NULL : w->plain_sums;
    const int found = ck_sampling_pass(row, n, inv_t, w->maxes, w->scaled_sums, plain, window,
                                       nucleus ? w->candidates : NULL, w->capacity, nucleus ? NULL : w->exps, cut);
    /* 3. Normalisers around the global max (Sampler.sample's loop). */
    float max_l = -INFINITY;
    for (int j = 0; j < chunks; j++) max_l = max_f(max_l, w->maxes[j]);
    double total_t = 0, total_1 = 0;
    for (int j = 0; j < chunks; j++) {
        const double d = (double)(w->maxes[j] - max_l);
        const double factor = d == 0 ? 1 : w->scaled_sums[j] == 0 ? 0 : exp(d * (double)inv_t);
        w->factors[j] = factor;
        total_t += w->scaled_sums[j] * factor;
        if (inv_t == 1.f) total_1 += w->scaled_sums[j] * factor;
        else if (plain[j] != 0) total_1 += plain[j] * (d == 0 ? 1 : exp(d));
    }
    if (k > 0) total_1 += ck_swap_sum(w->raw, w->lowered, (k + 7) / 8 * 8, max_l);
    int chosen = -1;
    if (!nucleus) {
        /* 4a. Plain: the chunk holding the draw, then the token inside it. */
        double u = (double)(splitmix_next(rng) >> 11) * 0x1.0p-53 * total_t;
        for (int j = 0; j < chunks; j++) {
            const double mass = w->scaled_sums[j] * w->factors[j];
            if (u >= mass && j < chunks - 1) { u -= mass; continue; }
            const int lo = j * 256, hi = lo + 256 < n ? lo + 256 : n;
            chosen = walk_stored(w->exps, lo, hi, w->factors[j], u);
            if (chosen < 0) {   /* rounding at the chunk's end: its last token with any mass */
                chosen = hi - 1;
                while (chosen > lo && (row[chosen] - max_l) * inv_t < -87) chosen--;
            }
            break;
        }
    } else if (found >= 0) {
        /* 4b. The nucleus: candidates within the window of the final max, sorted (insertion:
         *     a peaked row has a handful), cut by top-k and top-p, one drawn. */
        const float threshold = max_l - window;
        double mass = 0;
        int pairs = 0;
        for (int c = 0; c < found; c++) {
            const int32_t t = w->candidates[c];
            const float l = row[t];
            if (!(l >= threshold)) continue;
            const float e = l == max_l ? 1.f : (float)exp((double)((l - max_l) * inv_t));
            int p = pairs++;
            while (p > 0 && before(e, t, w->pair_e[p - 1], w->pair_id[p - 1])) {
                w->pair_e[p] = w->pair_e[p - 1];
                w->pair_id[p] = w->pair_id[p - 1];
                p--;
            }
            w->pair_e[p] = e;
            w->pair_id[p] = t;
            mass += (double)e;
        }
        if (pairs > 0 && (mass >= top_p * total_t || (top_k > 0 && pairs >= top_k))) {
            int keep = pairs;
            if (top_k > 0 && keep > top_k) keep = top_k;
            if (top_p < 1) {
                double cum = 0;
                for (int j = 0; j < keep; j++) {
                    cum += (double)w->pair_e[j];
                    if (cum >= top_p * total_t) { keep = j + 1; break; }
                }
            }
            double kept = 0;
            for (int j = 0; j < keep; j++) kept += (double)w->pair_e[j];
            double u = (double)(splitmix_next(rng) >> 11) * 0x1.0p-53 * kept;
            chosen = w->pair_id[keep - 1];
            for (int j = 0; j < keep; j++) {
                u -= (double)w->pair_e[j];
                if (u < 0) { chosen = w->pair_id[j]; break; }
            }
        }
    }
    /* 5. The log-probability under the raw logits (a penalised pick's raw value), then the
     *    row restored. */
    if (chosen >= 0) {
        float l = row[chosen];
        if (k > 0 && w->stamps[chosen] == w->stamp)
            for (int j = 0; j < k; j++) if (w->ids[j] == chosen) { l = w->raw[j]; break; }
        *log_prob = (double)l - ((double)max_l + log(total_1));
    }
    for (int j = 0; j < k; j++) row[w->ids[j]] = w->raw[j];
    return chosen;
}
