/* ck_pack_vnni: weights re-laid-out once for the VNNI int8-activation kernel
 * (ckernels_vnni.c reads them with packed = 1).
 *
 * ckernels_vnni.c transposes every 16-block group on the fly: 16 128-bit loads, 8 unpacks
 * and a gather of the scales per group, shared by the activation rows but about half of
 * the kernel's work at 4 rows. Here that transpose is done once: a packed row keeps its
 * size and holds, per group of 16 blocks,
 *   nib  [4][64] u8   vector j = nibble bytes [4j, 4j + 4) of the 16 blocks in q8_perm order
 *   d    [16] f16     the blocks' scales, q8_perm order
 *   m    [16] f16     (Q4_1 only) the blocks' minimums, q8_perm order
 * (288 B for Q4_0, 320 B for Q4_1 = 16 blocks in either layout); Q8_0 (the LM head) as
 *   q    [8][64] u8   vector j = bytes [4j, 4j + 4) of the 16 blocks' q + 128, q8_perm order
 *   d    [16] f16
 * (544 B = 16 blocks). The last blocks % 16 blocks stay unchanged. A Q4 group is then 4
 * loads, 12 logic ops and 2 conversions; a Q8_0 group 8 loads and one conversion. */
#include "ckernels.h"
#include "q8_layout.h"
#include "specialize.h"

#include <string.h>

void ck_pack_vnni(int format, const uint8_t *src, size_t row_bytes, int blocks, int rows, uint8_t *dst) {
    const int bb = BLOCK_BYTES(format), scales = format == 1 ? 4 : 2, groups = blocks / 16;
    for (int r = 0; r < rows; r++) {
        const uint8_t *in = src + (size_t)r * row_bytes;
        uint8_t *out = dst + (size_t)r * row_bytes;
        for (int g = 0; g < groups; g++, in += 16 * bb, out += 16 * bb) {
            for (int b = 0; b < 16; b++) {
                const uint8_t *blk = in + b * bb;
                const int p = q8_perm(b);
                if (format == 2) {
                    for (int i = 0; i < 32; i++) out[64 * (i / 4) + 4 * p + i % 4] = blk[2 + i] ^ 0x80;
                    memcpy(out + 512 + 2 * p, blk, 2);
                    continue;
                }
                for (int j = 0; j < 4; j++)   /* vector j, lane p: nibble bytes 4j..4j+3 */
                    memcpy(out + 64 * j + 4 * p, blk + scales + 4 * j, 4);
                memcpy(out + 256 + 2 * p, blk, 2);
                if (format == 1) memcpy(out + 288 + 2 * p, blk + 2, 2);
            }
        }
        memcpy(out, in, (size_t)(blocks % 16) * bb);   /* the tail as it was */
    }
}
