public import Torch

/// The device a command asks for: `auto`, `cpu`, `cuda` or `cuda:N`. The one parser of
/// `--device`, for training, planning, evaluation and prediction alike.
public enum DeviceRequest: Sendable, Equatable, CustomStringConvertible {
    /// The first GPU when there is one, else the CPU.
    case auto
    case device(Device)

    public init?(parsing text: String) {
        if text == "auto" {
            self = .auto
        } else if let device = Device(parsing: text) {
            self = .device(device)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .auto: "auto"
        case .device(let device): device.description
        }
    }

    /// The device itself, checked to exist. A data-parallel worker (`localRank` set) takes
    /// the GPU of its local rank for `auto` and `cuda`, and the CPU for `auto` without one.
    public func resolve(localRank: Int? = nil) throws(DeviceRequestError) -> Device {
        if let localRank, self == .auto || self == .device(.cuda(0)) {
            if Device.isCUDAAvailable { return try DeviceRequest.device(.cuda(localRank)).resolve() }
            if self == .auto { return .cpu }
        }
        switch self {
        case .auto: return Device.best
        case .device(let device):
            do {
                try device.validate()
            } catch {
                throw DeviceRequestError(reason: "\(error)")
            }
            return device
        }
    }

    /// What `--device` accepts, for error messages.
    public static let accepted = "auto, cpu, cuda or cuda:N"
}

/// A device that was asked for and is not there.
public struct DeviceRequestError: Error, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}

extension DeviceRequest: OptionText {
    public var optionText: String { description }
}
