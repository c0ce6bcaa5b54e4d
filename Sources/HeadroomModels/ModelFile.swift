public import Foundation
public import HeadroomFormats
public import Torch

/// Model weights on disk: safetensors (what Headroom writes) or a `torch.save` archive
/// (`.pth`/`.pt`, read without executing anything), told apart by content, not name.
public enum ModelFile {
    /// Metadata keys Headroom writes into the safetensors header.
    public enum MetadataKey {
        /// The class names, a JSON array in class-index order.
        public static let classNames = "headroom.class_names"
        /// The architecture, e.g. "resnet18".
        public static let architecture = "headroom.architecture"
        /// The resolution the weights were validated at (pixels a side), e.g. "224".
        public static let imageSize = "headroom.image_size"
        /// The shorter side images are resized to before the centre crop of `image_size`, when
        /// the run chose it (`--val-resize-size`); absent: image_size / 0.875, torchvision's.
        public static let resizeSize = "headroom.resize_size"
        /// How inputs are normalised: JSON `{"mean": [r, g, b], "std": [r, g, b]}` of 0–1 pixels.
        public static let normalization = "headroom.normalization"
        /// The precision the run trained in, e.g. "bf16": information, not a setting (inference
        /// runs in fp32 unless asked).
        public static let trainedPrecision = "headroom.trained_precision"
    }

    /// The tensors of a state dict file, in file order, with the safetensors metadata
    /// (empty for `.pth`). For a training checkpoint saved with torch.save, the model's
    /// state dict is found under the usual keys ("state_dict", "model", …).
    public static func read(_ url: URL) throws -> (tensors: [(name: String, tensor: Tensor)], metadata: [String: String]) {
        let records: StateDictRecords
        let metadata: [String: String]
        if try isTorchSave(url) {
            records = try TorchCheckpoint(contentsOf: url).stateDict()
            metadata = [:]
        } else if url.pathExtension.lowercased() == "onnx" {
            // Headroom writes ONNX for other runtimes; it reads weights from state dicts.
            throw StateDictError.unsupported(
                path: url.path,
                reason: "an ONNX model is for onnxruntime and other ONNX runtimes; give the run directory or its "
                    + "safetensors export (headroom export RUN_DIR --to model.safetensors), or a torchvision .pth")
        } else {
            (records, metadata) = try SafeTensors.read(contentsOf: url)
        }
        let tensors = try records.map { key, record in (name: key, tensor: try record.tensor()) }
        return (tensors, metadata)
    }

    /// Writes a plain state dict as safetensors, atomically (temporary file, fsync, rename):
    /// `safetensors.torch.load_file` + torchvision's `load_state_dict` read it as it is.
    public static func write(
        _ stateDict: [(name: String, tensor: Tensor)], metadata: [String: String] = [:], to url: URL
    ) throws {
        var records = StateDictRecords()
        for (name, tensor) in stateDict {
            records[name] = try TensorRecord(tensor)
        }
        try SafeTensors.write(records, metadata: metadata, to: url)
    }

    /// Class names from the metadata Headroom writes, if present and well formed.
    public static func classNames(in metadata: [String: String]) -> [String]? {
        guard let text = metadata[MetadataKey.classNames], let data = text.data(using: .utf8) else { return nil }
        return try? JSONDecoder().decode([String].self, from: data)
    }

    /// The metadata entry that records `classNames`.
    public static func classNamesMetadata(_ classNames: [String]) -> [String: String] {
        let data = (try? JSONEncoder().encode(classNames)) ?? Data("[]".utf8)
        return [MetadataKey.classNames: String(decoding: data, as: UTF8.self)]
    }

    /// A zip archive (torch.save since PyTorch 1.6), or a bare pickle stream (the legacy
    /// format, which the torch reader names as such rather than as a bad safetensors header).
    /// Safetensors starts with its header's length and then `{`: a length whose low byte is
    /// 0x80, the pickle's first byte, must not make it a pickle.
    private static func isTorchSave(_ url: URL) throws -> Bool {
        try StateDictError.requireRegularFile(url)
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        let head = [UInt8](try handle.read(upToCount: 9) ?? Data())
        if head.count == 9 && head[8] == UInt8(ascii: "{") { return false }
        return head.starts(with: [0x50, 0x4B, 0x03, 0x04]) || head.first == 0x80
    }
}

extension TensorRecord {
    /// A CPU tensor with a copy of the record's bytes.
    public func tensor() throws(TorchError) -> Tensor {
        // Data.withUnsafeBytes rethrows untyped errors; carry the typed one out as a Result.
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(TorchError) in try Tensor(copying: raw, shape: shape, dtype: dtype) }
        }
        return try result.get()
    }

    /// The record of a tensor's current values (copied to the host, contiguous).
    public init(_ tensor: Tensor) throws {
        try self.init(dtype: tensor.dtype, shape: tensor.shape, bytes: Data(tensor.bytes()))
    }
}
