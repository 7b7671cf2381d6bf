#!/usr/bin/env bash
# Fails when a matmul kernel function (other than protocol witness thunks, unused at
# run time) calls the stdlib's SIMD functions instead of inlining them: that has
# silently halved decode speed twice (see README). Run after a release build.
# (Ops.exp's clamp no longer calls pointwiseMin/Max: Ops.lanewiseMax/Min. The AVX-512
# kernels are C (Sources/CKernels) and not checked here.)
set -euo pipefail
dir=${1:-.build/release/Kernels.build}
bad=$(for o in "$dir"/Quantized.swift.o "$dir"/QuantizedKernels.swift.o "$dir"/Linear.swift.o; do
  objdump -dr --no-show-raw-insn "$o" | awk '/^[0-9a-f]+ <.*>:$/{fn=$2} /R_X86_64_PLT32.*SIMD[0-9]+V/{print fn}'
done | grep -v 'TW>:$' | sort -u || true)
if [ -n "$bad" ]; then echo "SIMD conversions not inlined in:"; echo "$bad"; exit 1; fi
echo "ok: no out-of-line SIMD calls in the matmul kernels"
