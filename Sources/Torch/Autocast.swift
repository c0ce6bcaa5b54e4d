import CTorch

/// Runs `body` with autocast on for `device`'s type: eligible ops (convolutions, matmuls)
/// run in `dtype` (bfloat16 or float16), the rest stay float32, as `torch.autocast` does.
/// Restores the previous setting afterwards, also when `body` throws.
public func withAutocast<R, E: Error>(
    device: Device, dtype: DType, _ body: () throws(E) -> R
) throws(E) -> R {
    let type = Int32(device.isCUDA ? CTORCH_DEVICE_CUDA.rawValue : CTORCH_DEVICE_CPU.rawValue)
    var wasEnabled = false
    var previous: Int32 = dtype.rawValue
    // Can fail only for a dtype the shim does not know, which DType rules out.
    _ = ctorch_autocast_set(type, true, dtype.rawValue, &wasEnabled, &previous)
    defer { _ = ctorch_autocast_set(type, wasEnabled, previous, nil, nil) }
    return try body()
}
