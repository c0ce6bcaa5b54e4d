import HeadroomFormats
import Torch

extension ONNXGraph {
    /// Adds `tensor` as a weight under `name` (stored as float32, whatever its dtype was) and returns the name.
    mutating func weight(_ name: String, _ tensor: Tensor) throws(TorchError) -> String {
        let values = try tensor.to(device: .cpu, dtype: .float32).contiguous()
        return weight(name, shape: values.shape, float32Bytes: try values.bytes())
    }
}
