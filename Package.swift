// swift-tools-version: 6.0
import Foundation
import PackageDescription

// libtorch is found the way tch-rs finds it: LIBTORCH names a torch package directory
// (e.g. a CUDA machine's site-packages/torch); otherwise the one `make setup` put in .deps/.
// A missing or wrong-version libtorch is reported by the shim itself at compile time
// (CTORCH_LIBTORCH_PROBLEM, see Sources/CTorch/libtorch_check.cpp) with every remedy.
let pinnedTorchVersion = "2.11.0"
let packageDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path
let libtorch = ProcessInfo.processInfo.environment["LIBTORCH"].flatMap { $0.isEmpty ? nil : $0 }
    ?? "\(packageDirectory)/.deps/python/torch"

func libtorchProblem() -> String? {
    guard let version = try? String(contentsOfFile: "\(libtorch)/version.py", encoding: .utf8) else {
        return "missing"
    }
    return version.contains("__version__ = '\(pinnedTorchVersion)") ? nil : "wrong_version"
}

let problemDefines: [CXXSetting] = libtorchProblem().map {
    [.define("CTORCH_LIBTORCH_PROBLEM", to: "\"\($0)\""), .define("CTORCH_LIBTORCH_DIR", to: "\"\(libtorch)\"")]
} ?? []

// The CUDA runtime headers (nvidia-cuda-runtime and nvidia-cuda-crt wheels beside torch)
// let cuda_memory.cpp drive libtorch's CUDA caching allocator; without them it compiles to
// stubs that say so, and everything else works.
let cudaHeaders = "\(libtorch)/../nvidia/cu13/include"
let cudaDefines: [CXXSetting] =
    FileManager.default.fileExists(atPath: "\(cudaHeaders)/crt/host_config.h") ? [.define("CTORCH_WITH_CUDA_HEADERS")] : []

// What ProcessGroupNCCL.hpp includes (`make setup` fetches these headers, a full PyTorch install
// has them): with them the NCCL plugin links libtorch_cuda; without, it is a stub that says so.
let ncclHeaders = "\(libtorch)/../nvidia/nccl/include"
let hasNCCLHeaders = ["\(ncclHeaders)/nccl.h", "\(cudaHeaders)/cublas_v2.h", "\(cudaHeaders)/cusparse.h",
                      "\(cudaHeaders)/cusolverDn.h", "\(cudaHeaders)/nv/target"].allSatisfy(FileManager.default.fileExists)
let libtorchSearch: [String] = ["-L\(libtorch)/lib", "-Xlinker", "-rpath", "-Xlinker", "\(libtorch)/lib"]
/// The C++ settings of a target that includes libtorch's headers (-isystem: they are not ours to warn about).
func libtorchHeaders(_ more: [String] = []) -> [CXXSetting] {
    [
        .define("_GLIBCXX_USE_CXX11_ABI", to: "1"),
        .unsafeFlags(["-isystem", "\(libtorch)/include", "-isystem", "\(libtorch)/include/torch/csrc/api/include", "-isystem", cudaHeaders]
            + more.flatMap { ["-isystem", $0] }),
    ]
}

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Headroom",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "headroom", targets: ["headroom"]),
        .library(name: "Headroom", targets: ["Headroom"]),
        .library(name: "Torch", targets: ["Torch", "TorchNN", "TorchOptim"]),
        // Loaded at run time, beside the binary, only when a run asks for NCCL.
        .library(name: "HeadroomNCCL", type: .dynamic, targets: ["CTorchNCCL"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .target(
            name: "CTorch",
            cxxSettings: libtorchHeaders() + problemDefines + cudaDefines,
            linkerSettings: [
                // The binary finds libtorch where it was built against, without LD_LIBRARY_PATH.
                .unsafeFlags(libtorchSearch),
                .linkedLibrary("torch_cpu"),
                .linkedLibrary("c10"),
                .linkedLibrary("dl"),
            ]
        ),
        // libtorch's ProcessGroupNCCL, built for the shim by a library of its own (it links libtorch_cuda).
        .target(
            name: "CTorchNCCL",
            cxxSettings: libtorchHeaders([ncclHeaders]) + (hasNCCLHeaders ? [.define("CTORCH_WITH_NCCL_HEADERS")] : []),
            // -static-stdlib: nothing here is Swift, and a machine the binary is carried to may have no Swift runtime.
            linkerSettings: [.unsafeFlags(["-static-stdlib"] + (hasNCCLHeaders ? libtorchSearch : []))]
                + (hasNCCLHeaders ? ["torch_cuda", "c10_cuda", "torch_cpu", "c10"].map { .linkedLibrary($0) } : [])
        ),
        // JPEG (libjpeg-turbo: TurboJPEG for whole images with DCT-domain scaling, libjpeg's scanline API for
        // regions), PNG (libdeflate for the common case, libpng for the rest), WebP (libwebp) and TIFF (libtiff)
        // decoding, from Debian's packages; BMP is read by our own code. Optimised even in debug builds: the
        // loader's own loops (unfiltering, conversions, orientation) run on every pixel of every image.
        .target(
            name: "CImageCodecs",
            cSettings: [.unsafeFlags(["-std=c11", "-O2"])],
            linkerSettings: [
                .linkedLibrary("turbojpeg"), .linkedLibrary("jpeg"), .linkedLibrary("png"), .linkedLibrary("deflate"),
                .linkedLibrary("webp"), .linkedLibrary("tiff"),
            ]
        ),
        // DICOM through GDCM (Debian's libgdcm-dev: it decodes JPEG-LS and JPEG 2000, which DCMTK's free build does not).
        .target(
            name: "CDicom",
            cxxSettings: [.unsafeFlags(["-std=c++17", "-O2", "-isystem", "/usr/include/gdcm-3.0"])],
            linkerSettings: [.linkedLibrary("gdcmMSFF"), .linkedLibrary("gdcmDSED"), .linkedLibrary("gdcmCommon")]
        ),
        // Whole-slide images through OpenSlide 4 (the openslide-bin wheel `make setup` puts in .deps/python),
        // opened with dlopen on first use: nothing links it, and a machine without it reads everything but slides.
        .target(
            name: "COpenSlide",
            cSettings: [
                .unsafeFlags(["-std=c11", "-O2"]),
                .define("HSL_DEFAULT_LIBRARY", to: "\"\(packageDirectory)/.deps/python/openslide_bin/libopenslide.so.1\""),
            ],
            linkerSettings: [.linkedLibrary("dl")]
        ),
        // Downloads (pretrained weights) through libcurl's easy interface, from Debian's libcurl4-openssl-dev.
        .target(name: "CDownload", cSettings: [.unsafeFlags(["-std=c11"])], linkerSettings: [.linkedLibrary("curl")]),
        // DType and TensorElement: what libtorch-free code (the file formats) shares with Torch.
        .target(name: "TorchTypes", swiftSettings: swiftSettings),
        .target(name: "Torch", dependencies: ["CTorch", "TorchTypes"], swiftSettings: swiftSettings),
        .target(name: "TorchNN", dependencies: ["Torch"], swiftSettings: swiftSettings),
        .target(name: "TorchOptim", dependencies: ["Torch"], swiftSettings: swiftSettings),

        // Headroom's layers, bottom up: a target imports only those above it in this list, and the
        // compiler refuses anything else (`make test` builds with the explicit import check on).
        // docs/architecture.md draws the graph.
        //
        // Weight and model file formats (pickle, zip, safetensors, ONNX and protobuf, TensorBoard
        // event files), without libtorch: they build, test and fuzz on their own.
        .target(name: "HeadroomFormats", dependencies: ["TorchTypes"], swiftSettings: swiftSettings),
        // torchvision's ResNets, activation checkpointing, streaming in bands, weight files, ONNX export.
        .target(name: "HeadroomModels", dependencies: ["Torch", "TorchNN", "HeadroomFormats", "CDownload"], swiftSettings: swiftSettings),
        // Decoding, whole slides, transforms, ImageFolder/CSV, the batch loader, resize schedules.
        .target(name: "HeadroomData", dependencies: ["Torch", "CImageCodecs", "CDicom", "COpenSlide"], swiftSettings: swiftSettings),
        // What one step runs on: device, precision, memory format, the training step.
        .target(
            name: "HeadroomExecution", dependencies: ["Torch", "TorchNN", "TorchOptim", "HeadroomModels"],
            swiftSettings: swiftSettings
        ),
        // The one owner of memory: budget, planner, probes, recovery ladder.
        .target(
            name: "HeadroomMemory", dependencies: ["Torch", "HeadroomModels", "HeadroomData", "HeadroomExecution"],
            swiftSettings: swiftSettings
        ),
        // metrics.jsonl records, TensorBoard, the HTML report, the machine report.
        .target(
            name: "HeadroomReporting", dependencies: ["Torch", "HeadroomFormats", "HeadroomModels", "HeadroomExecution", "HeadroomMemory"],
            swiftSettings: swiftSettings
        ),
        // Classifier, Evaluator, evaluate/predict, export. Not training.
        .target(
            name: "HeadroomInference",
            dependencies: ["Torch", "TorchNN", "TorchOptim", "HeadroomFormats", "HeadroomModels", "HeadroomData", "HeadroomExecution", "HeadroomMemory", "HeadroomReporting"],
            swiftSettings: swiftSettings
        ),
        // c10d process groups, the launcher, the one all-reduce per step.
        .target(name: "HeadroomDistributed", dependencies: ["Torch", "HeadroomModels"], swiftSettings: swiftSettings),
        // RunSetup, the Trainer and its epoch loop, the step executor, checkpoints.
        .target(
            name: "HeadroomTraining",
            dependencies: [
                "Torch", "TorchNN", "TorchOptim", "HeadroomFormats", "HeadroomModels", "HeadroomData", "HeadroomExecution",
                "HeadroomMemory", "HeadroomReporting", "HeadroomInference", "HeadroomDistributed",
            ],
            swiftSettings: swiftSettings
        ),
        // The library's one import for the command-line tool and for users: it re-exports the layers.
        .target(
            name: "Headroom",
            dependencies: [
                "HeadroomFormats", "HeadroomModels", "HeadroomData", "HeadroomExecution", "HeadroomMemory",
                "HeadroomReporting", "HeadroomInference", "HeadroomDistributed", "HeadroomTraining",
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "headroom",
            dependencies: ["Headroom", "Torch", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),
        // The hostile-file readers under libFuzzer (Scripts/fuzz.sh); a plain build replays files.
        .executableTarget(name: "headroom-fuzz", dependencies: ["HeadroomFormats", "HeadroomData"], swiftSettings: swiftSettings),
        .target(name: "TestFiles", path: "Tests/TestFiles", swiftSettings: swiftSettings),
        .target(name: "TestSupport", dependencies: ["Torch", "TestFiles"], path: "Tests/TestSupport", swiftSettings: swiftSettings),
        // The file formats' tests depend on no libtorch target, as the formats themselves do not.
        .testTarget(
            name: "HeadroomFormatsTests", dependencies: ["HeadroomFormats", "TorchTypes", "TestFiles"], exclude: ["StateDictFiles/Fixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "TorchTests", dependencies: ["Torch", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "TorchNNTests", dependencies: ["TorchNN", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "TorchOptimTests", dependencies: ["TorchOptim", "TorchNN", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "HeadroomTests",
            dependencies: [
                "HeadroomFormats", "HeadroomModels", "HeadroomData", "HeadroomExecution", "HeadroomMemory", "HeadroomReporting",
                "HeadroomInference", "HeadroomDistributed", "HeadroomTraining", "Headroom", "Torch", "TorchNN", "TorchOptim", "TestSupport",
            ], exclude: ["Fixtures", "Data/Fixtures", "Bands/Fixtures", "Recipe/Fixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "headroomTests",
            dependencies: ["headroom", "Headroom", "Torch", "TestSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),
    ],
    cxxLanguageStandard: .cxx17
)
