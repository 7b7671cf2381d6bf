// swift-tools-version: 6.1
import PackageDescription

// SIMD kernels need AVX2/FMA code generation: the default x86-64 target lowers
// fused multiply-adds to scalar calls (~40x slower). Every CPU this runs on
// (Zen3 here) has both.
let simdFlags: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-target-cpu", "haswell"]),
]

// Parsers of user files keep Swift's overflow and bounds traps off the table by
// checking explicitly; they are built optimised because tokenizers and GGUF
// metadata hold hundreds of thousands of entries.
let parserFlags: [SwiftSetting] = [.unsafeFlags(["-O"])]

let package = Package(
    name: "Sprig",
    products: [
        .library(name: "Sprig", targets: ["Sprig"]),
        .executable(name: "sprig", targets: ["SprigCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CJemalloc", path: "Sources/CJemalloc", pkgConfig: "jemalloc",
                       providers: [.apt(["libjemalloc-dev"])]),
        // AVX-512 kernels in C, compiled per function with target attributes and chosen at
        // run time (cpuid): the package itself stays AVX2 + FMA (Zen3 runs it too).
        .target(name: "CKernels", path: "Sources/CKernels", cSettings: [.unsafeFlags(["-O3"])]),
        .target(name: "Kernels", dependencies: ["CBLAS", "CJemalloc", "CKernels"], swiftSettings: simdFlags),
        .target(name: "SprigJSON", dependencies: [], swiftSettings: parserFlags),
        .target(name: "Checkpoint", dependencies: ["Kernels", "SprigJSON"], swiftSettings: parserFlags),
        .target(name: "Tokenizer", dependencies: ["SprigJSON"], swiftSettings: parserFlags),
        .target(name: "PagedKV", dependencies: ["Kernels"], swiftSettings: simdFlags),
        .target(name: "Transformer", dependencies: ["Kernels", "Checkpoint", "PagedKV", "SprigJSON"], swiftSettings: simdFlags),
        .target(name: "SPRM", dependencies: ["Kernels", "Checkpoint"], swiftSettings: simdFlags),
        .target(name: "StepSearch", dependencies: []),
        .target(name: "Sprig", dependencies: ["Transformer", "Tokenizer", "PagedKV", "SPRM", "StepSearch", "Checkpoint", "Kernels"],
                swiftSettings: simdFlags),
        .executableTarget(name: "SprigCLI", dependencies: [
            "Sprig", "SPRM", "StepSearch", "Transformer", "Kernels", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: simdFlags),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels"], swiftSettings: simdFlags),
        .testTarget(name: "SprigJSONTests", dependencies: ["SprigJSON"]),
        .testTarget(name: "CheckpointTests", dependencies: ["Checkpoint", "SprigJSON"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TokenizerTests", dependencies: ["Tokenizer", "Checkpoint", "SprigJSON"], resources: [.copy("Fixtures")]),
        .testTarget(name: "PagedKVTests", dependencies: ["PagedKV", "Kernels"]),
        .testTarget(name: "TransformerTests", dependencies: ["Transformer", "Sprig"], resources: [.copy("Fixtures")]),
        .testTarget(name: "SPRMTests", dependencies: ["SPRM"], resources: [.copy("Fixtures")]),
        .testTarget(name: "StepSearchTests", dependencies: ["StepSearch"]),
        .testTarget(name: "SprigTests", dependencies: ["Sprig"]),
    ]
)
