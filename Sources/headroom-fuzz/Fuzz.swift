import Foundation
@testable import HeadroomData
@testable import HeadroomFormats

// The readers of files a user may be handed — torch.save checkpoints (zip + restricted
// pickle), bare pickles, safetensors and TIFF images (libtiff over data in memory) — fed
// arbitrary bytes. Built with
// `Scripts/fuzz.sh` (libFuzzer: -sanitize=fuzzer, -DFUZZING), it runs until something
// crashes or hangs; built plainly, it replays the files named on its command line, so a
// crash found once stays a regression check.

/// The first byte picks the reader, the rest is its input.
func readHostileBytes(_ data: Data) {
    guard let selector = data.first else { return }
    let body = Data(data.dropFirst())
    switch selector % 4 {
    case 0:
        var unpickler = Unpickler(body, path: "fuzz.pkl", context: "data.pkl") { _ throws(PickleError) in
            throw PickleError("no storages in a bare pickle")
        }
        _ = try? unpickler.load()
    case 1:
        _ = try? TorchCheckpoint(contents: body, path: "fuzz.pth").stateDict()
    case 2:
        _ = try? SafeTensorsFile(contents: body, path: "fuzz.safetensors").records()
    default:
        // Small images only: the pixel limit keeps a fuzzed header from asking for gigabytes.
        _ = try? ImageDecoder(pixelLimit: 1 << 20).decode([UInt8](body), source: "fuzz.tif")
    }
}

@main
enum HostileFiles {
    static func main() {
        #if FUZZING
        // libFuzzer's own driver, entered from here: SwiftPM gives an executable its main.
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOneInput))
        #else
        for path in CommandLine.arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else {
                print("cannot read \(path)")
                continue
            }
            readHostileBytes(data)
            print("read \(path) (\(data.count) bytes): no crash")
        }
        #endif
    }
}

#if FUZZING
/// One input, as libFuzzer calls it (its driver also links against this name).
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    readHostileBytes(bytes.map { Data(bytes: $0, count: count) } ?? Data())
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt
#endif
