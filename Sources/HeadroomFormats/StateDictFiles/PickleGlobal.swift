import TorchTypes
/// The globals a state-dict pickle may name: the allow-list.
///
/// Anything else is refused when the GLOBAL opcode names it, before it could
/// be called, the contract `torch.load(weights_only=True)` keeps. Calling an
/// allowed global only builds data (`reduce`), so nothing executes.
enum PickleGlobal: Equatable {
    /// `collections.OrderedDict`, the type of every state dict.
    case orderedDict
    /// `torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride,
    /// requires_grad, backward_hooks[, metadata])`: a tensor as a view of a storage.
    case rebuildTensor
    /// `torch._utils._rebuild_parameter(data, requires_grad, backward_hooks)`.
    case rebuildParameter
    /// `torch._utils._rebuild_parameter_with_state(data, requires_grad, backward_hooks, state)`.
    case rebuildParameterWithState
    /// `torch._tensor._rebuild_from_type_v2(func, new_type, args, state)`: a
    /// tensor carrying Python attributes; the attributes are dropped.
    case rebuildFromType
    /// `torch.Tensor` and `torch.nn.parameter.Parameter`, as `new_type` above.
    case tensorType(String)
    /// `torch.FloatStorage` and friends: the element type of a storage.
    case storageType(DType, name: String)

    private static let storageTypes: [String: DType] = [
        "DoubleStorage": .float64, "FloatStorage": .float32, "HalfStorage": .float16,
        "BFloat16Storage": .bfloat16, "LongStorage": .int64, "IntStorage": .int32,
        "ShortStorage": .int16, "CharStorage": .int8, "ByteStorage": .uint8, "BoolStorage": .bool,
    ]

    /// The allowed global `module.name`, or `nil` when it is not allowed.
    init?(module: String, name: String) {
        switch (module, name) {
        case ("collections", "OrderedDict"): self = .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): self = .rebuildTensor
        case ("torch._utils", "_rebuild_parameter"): self = .rebuildParameter
        case ("torch._utils", "_rebuild_parameter_with_state"): self = .rebuildParameterWithState
        case ("torch._tensor", "_rebuild_from_type_v2"): self = .rebuildFromType
        case ("torch", "Tensor"), ("torch.nn.parameter", "Parameter"): self = .tensorType("\(module).\(name)")
        case ("torch", _):
            guard let dtype = Self.storageTypes[name] else { return nil }
            self = .storageType(dtype, name: name)
        default: return nil
        }
    }

    var qualifiedName: String {
        switch self {
        case .orderedDict: "collections.OrderedDict"
        case .rebuildTensor: "torch._utils._rebuild_tensor_v2"
        case .rebuildParameter: "torch._utils._rebuild_parameter"
        case .rebuildParameterWithState: "torch._utils._rebuild_parameter_with_state"
        case .rebuildFromType: "torch._tensor._rebuild_from_type_v2"
        case .tensorType(let name): name
        case .storageType(_, let name): "torch.\(name)"
        }
    }

    /// What Python's REDUCE would build: `self(*arguments)`. Throws a reason
    /// for the caller to wrap, when the arguments are not what torch writes.
    func reduce(_ arguments: [PickleObject]) throws(PickleError) -> PickleObject {
        switch self {
        case .orderedDict:
            // `OrderedDict()` or `OrderedDict([(key, value), …])`.
            let dictionary = PickleDictionary()
            switch arguments.first {
            case nil:
                break
            case .list(let list) where arguments.count == 1:
                for pair in list.elements {
                    guard case .tuple(let items) = pair, items.count == 2,
                        dictionary.set(items[1], forKey: items[0])
                    else { throw PickleError("OrderedDict expects (key, value) pairs") }
                }
            default:
                throw PickleError("OrderedDict called with unexpected arguments")
            }
            return .dictionary(dictionary)

        case .rebuildTensor:
            guard (6...7).contains(arguments.count), case .storage(let storage) = arguments[0],
                case .int(let offset) = arguments[1],
                let shape = Self.integers(arguments[2]), let strides = Self.integers(arguments[3])
            else { throw PickleError("\(qualifiedName) called with unexpected arguments") }
            return .tensor(TorchTensorView(storage: storage, offset: offset, shape: shape, strides: strides))

        case .rebuildParameter, .rebuildParameterWithState:
            guard arguments.count == (self == .rebuildParameter ? 3 : 4), case .tensor = arguments[0] else {
                throw PickleError("\(qualifiedName) called with unexpected arguments")
            }
            return arguments[0]

        case .rebuildFromType:
            guard arguments.count == 4, case .global(let function) = arguments[0],
                case .global(.tensorType) = arguments[1], case .tuple(let innerArguments) = arguments[2]
            else { throw PickleError("\(qualifiedName) called with unexpected arguments") }
            let result = try function.reduce(innerArguments)
            guard case .tensor = result else { throw PickleError("\(qualifiedName) did not build a tensor") }
            return result

        case .tensorType, .storageType:
            throw PickleError("\(qualifiedName) cannot be called in a state dict")
        }
    }

    private static func integers(_ object: PickleObject) -> [Int]? {
        guard case .tuple(let elements) = object else { return nil }
        var integers: [Int] = []
        for element in elements {
            guard case .int(let value) = element else { return nil }
            integers.append(value)
        }
        return integers
    }
}

/// A reason a pickle is not a valid state dict; the unpickler adds the file
/// and offset and turns it into a `StateDictError`.
struct PickleError: Error {
    let message: String
    /// Set when the reason is a global outside the allow-list.
    let refusedGlobal: String?

    init(_ message: String) {
        self.message = message
        refusedGlobal = nil
    }

    init(refusing global: String) {
        message = "refused global \(global)"
        refusedGlobal = global
    }
}
