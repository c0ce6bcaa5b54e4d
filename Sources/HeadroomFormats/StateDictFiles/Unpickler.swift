import Foundation

/// A pickle reader that builds data and never runs code.
///
/// It understands the opcodes of protocols 2 to 5 that state dicts and
/// training checkpoints use, resolves globals only through `PickleGlobal`'s
/// allow-list and hands persistent IDs to a closure (torch uses them for
/// storages). An unknown opcode, a refused global or a malformed stream is an
/// error; so is anything a plain state dict never contains.
struct Unpickler {
    /// Resolves a persistent ID (BINPERSID) to a value.
    typealias PersistentLoad = (PickleObject) throws(PickleError) -> PickleObject

    private var reader: ByteReader
    /// The part of the file being read ("archive/data.pkl"), for errors.
    private let context: String
    private let persistentLoad: PersistentLoad
    private var stack: [PickleObject] = []
    /// Beside each stack entry, how deeply it nests (0 for a scalar, 1 for a container of
    /// scalars); lists and dicts keep their own, as they grow after being pushed.
    private var depths: [Int] = []
    /// Stack heights at each MARK.
    private var marks: [Int] = []
    private var memo: [Int: (object: PickleObject, depth: Int)] = [:]

    /// Deeper nesting is refused while the pickle runs, before anything that deep exists:
    /// a value nested 60,000 levels deep overflows the stack when it is freed, long before
    /// anything could check it afterwards. State dicts nest a handful of levels.
    static let maximumDepth = 256

    /// `path` names the file and `context` the part being read, for errors.
    init(_ pickle: Data, path: String, context: String, persistentLoad: @escaping PersistentLoad) {
        // The reader's own messages get the context added here, once.
        reader = ByteReader(pickle, path: path, context: "")
        self.context = context
        self.persistentLoad = persistentLoad
    }

    /// Runs the pickle to its STOP opcode and returns the value it built.
    mutating func load() throws(StateDictError) -> PickleObject {
        while true {
            let opcodeOffset = reader.offset
            do throws(PickleError) {
                if let result = try execute(try read(UInt8.self)) { return result }
            } catch {
                if let name = error.refusedGlobal { throw .refusedGlobal(path: reader.path, name: name) }
                throw .malformed(path: reader.path, reason: "\(context): \(error.message) (at offset \(opcodeOffset))")
            }
        }
    }

    /// Executes one opcode; returns the result at STOP.
    private mutating func execute(_ opcode: UInt8) throws(PickleError) -> PickleObject? {
        switch opcode {
        case 0x80:  // PROTO
            let version = try read(UInt8.self)
            guard version <= 5 else { throw PickleError("pickle protocol \(version) is newer than 5") }
        case 0x95:  // FRAME: a buffering hint with nothing to build
            _ = try read(UInt64.self)
        case 0x2E:  // STOP
            return try pop().object

        // Constants and scalars.
        case 0x4E: try push(.none)  // NONE
        case 0x88: try push(.bool(true))  // NEWTRUE
        case 0x89: try push(.bool(false))  // NEWFALSE
        case 0x4B: try push(.int(Int(try read(UInt8.self))))  // BININT1
        case 0x4D: try push(.int(Int(try read(UInt16.self))))  // BININT2
        case 0x4A: try push(.int(Int(try read(Int32.self))))  // BININT
        case 0x8A: try push(.int(try readLong(byteCount: Int(try read(UInt8.self)))))  // LONG1
        case 0x8B: try push(.int(try readLong(byteCount: Int(try read(Int32.self)))))  // LONG4
        case 0x47:  // BINFLOAT, big-endian unlike everything else
            try push(
                .float(
                    Double(bitPattern: try wrap { () throws(StateDictError) in try reader.readBigEndian(UInt64.self) }))
            )
        case 0x8C: try push(.string(try readString(byteCount: Int(try read(UInt8.self)))))  // SHORT_BINUNICODE
        case 0x58: try push(.string(try readString(byteCount: Int(try read(UInt32.self)))))  // BINUNICODE
        case 0x8D: try push(.string(try readString(byteCount: try length(try read(UInt64.self)))))  // BINUNICODE8
        case 0x43: try push(.bytes(try readBytes(Int(try read(UInt8.self)))))  // SHORT_BINBYTES
        case 0x42: try push(.bytes(try readBytes(Int(try read(UInt32.self)))))  // BINBYTES
        case 0x8E: try push(.bytes(try readBytes(try length(try read(UInt64.self)))))  // BINBYTES8

        // Containers.
        case 0x28: marks.append(stack.count)  // MARK
        case 0x29: try push(.tuple([]))  // EMPTY_TUPLE
        case 0x5D: try push(.list(PickleList()))  // EMPTY_LIST
        case 0x7D: try push(.dictionary(PickleDictionary()))  // EMPTY_DICT
        case 0x74:  // TUPLE
            let (elements, depth) = try popToMark()
            nest(elements)
            try push(.tuple(elements), depth: depth + 1)
        case 0x85, 0x86, 0x87:  // TUPLE1, TUPLE2, TUPLE3
            let count = Int(opcode - 0x84)
            guard stack.count - count >= (marks.last ?? 0) else { throw PickleError("stack underflow") }
            let elements = Array(stack.suffix(count))
            let depth = depths.suffix(count).max() ?? 0
            stack.removeLast(count)
            depths.removeLast(count)
            nest(elements)
            try push(.tuple(elements), depth: depth + 1)
        case 0x6C:  // LIST
            let list = PickleList()
            let (elements, depth) = try popToMark()
            try admit(elements, depth: depth, into: list)
            list.elements = elements
            try push(.list(list))
        case 0x64:  // DICT
            let dictionary = PickleDictionary()
            let (items, depth) = try popToMark()
            try admit(items, depth: depth, into: dictionary)
            try setItems(items, in: dictionary)
            try push(.dictionary(dictionary))
        case 0x61:  // APPEND
            let (value, depth) = try pop()
            let list = try list(at: try top())
            try admit([value], depth: depth, into: list)
            list.elements.append(value)
        case 0x65:  // APPENDS
            let (values, depth) = try popToMark()
            let list = try list(at: try top())
            try admit(values, depth: depth, into: list)
            list.elements += values
        case 0x73:  // SETITEM
            let (value, valueDepth) = try pop()
            let (key, keyDepth) = try pop()
            let dictionary = try dictionary(at: try top())
            try admit([key, value], depth: max(keyDepth, valueDepth), into: dictionary)
            try setItems([key, value], in: dictionary)
        case 0x75:  // SETITEMS
            let (items, depth) = try popToMark()
            let dictionary = try dictionary(at: try top())
            try admit(items, depth: depth, into: dictionary)
            try setItems(items, in: dictionary)

        // Stack and memo.
        case 0x30: _ = try pop()  // POP
        case 0x31: _ = try popToMark()  // POP_MARK
        case 0x32: try push(try top(), depth: depths.last ?? 0)  // DUP
        case 0x71: memo[Int(try read(UInt8.self))] = (try top(), depths.last ?? 0)  // BINPUT
        case 0x72: memo[Int(try read(UInt32.self))] = (try top(), depths.last ?? 0)  // LONG_BINPUT
        case 0x94: memo[memo.count] = (try top(), depths.last ?? 0)  // MEMOIZE
        case 0x68:  // BINGET
            let entry = try memoized(Int(try read(UInt8.self)))
            try push(entry.object, depth: entry.depth)
        case 0x6A:  // LONG_BINGET
            let entry = try memoized(Int(try read(UInt32.self)))
            try push(entry.object, depth: entry.depth)

        // Objects: only through the allow-list.
        case 0x63:  // GLOBAL "module\nname\n"
            let module = try wrap { () throws(StateDictError) in try reader.readLine() }
            let name = try wrap { () throws(StateDictError) in try reader.readLine() }
            try push(.global(try global(module: module, name: name)))
        case 0x93:  // STACK_GLOBAL
            guard case .string(let name) = try pop().object, case .string(let module) = try pop().object else {
                throw PickleError("STACK_GLOBAL needs two strings")
            }
            try push(.global(try global(module: module, name: name)))
        case 0x52:  // REDUCE
            let (tuple, depth) = try pop()
            guard case .tuple(let arguments) = tuple else { throw PickleError("REDUCE arguments are not a tuple") }
            guard case .global(let callable) = try pop().object else { throw PickleError("REDUCE target is not callable") }
            let result = try callable.reduce(arguments)
            // What it built from the arguments nests no deeper than they did.
            if let container = Self.container(result) { container.depth = max(container.depth, depth) }
            try push(result, depth: depth)
        case 0x62:  // BUILD
            let state = try pop().object
            try build(try top(), state: state)
        case 0x51:  // BINPERSID
            try push(try persistentLoad(try pop().object))

        default:
            if let name = Self.unsupportedOpcodes[opcode] {
                throw PickleError("opcode \(name) does not occur in state dicts and is not supported")
            }
            throw PickleError("unknown opcode 0x\(String(opcode, radix: 16))")
        }
        return nil
    }

    /// Opcodes of older protocols or of arbitrary objects, named for the error message.
    private static let unsupportedOpcodes: [UInt8: String] = [
        0x49: "INT", 0x4C: "LONG", 0x46: "FLOAT", 0x53: "STRING", 0x54: "BINSTRING", 0x55: "SHORT_BINSTRING",
        0x56: "UNICODE", 0x50: "PERSID", 0x67: "GET", 0x70: "PUT", 0x69: "INST", 0x6F: "OBJ", 0x81: "NEWOBJ",
        0x92: "NEWOBJ_EX", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 0x8F: "EMPTY_SET", 0x90: "ADDITEMS",
        0x91: "FROZENSET", 0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
    ]

    // MARK: - Semantics

    private func global(module: String, name: String) throws(PickleError) -> PickleGlobal {
        guard let global = PickleGlobal(module: module, name: name) else {
            throw PickleError(refusing: "\(module).\(name)")
        }
        return global
    }

    /// BUILD sets an object's state. torch gives its OrderedDicts a
    /// `_metadata` attribute (module versions) and tensors may carry Python
    /// attributes; neither matters for the values, so both are dropped.
    private func build(_ object: PickleObject, state: PickleObject) throws(PickleError) {
        switch (object, state) {
        case (.dictionary, .dictionary), (.dictionary, .none), (.tensor, _):
            return
        case (.dictionary, .tuple(let parts)) where parts.count == 2:
            return  // (instance dict, slots dict)
        default:
            throw PickleError("cannot set state \(state.kind) on \(object.kind)")
        }
    }

    private func setItems(_ items: [PickleObject], in dictionary: PickleDictionary) throws(PickleError) {
        guard items.count.isMultiple(of: 2) else { throw PickleError("odd number of items for a dict") }
        for index in stride(from: 0, to: items.count, by: 2) {
            guard dictionary.set(items[index + 1], forKey: items[index]) else {
                throw PickleError("a dict key of type \(items[index].kind) is not hashable")
            }
        }
    }

    private func list(at object: PickleObject) throws(PickleError) -> PickleList {
        guard case .list(let list) = object else { throw PickleError("appending to \(object.kind), not a list") }
        return list
    }

    private func dictionary(at object: PickleObject) throws(PickleError) -> PickleDictionary {
        guard case .dictionary(let dictionary) = object else {
            throw PickleError("setting an item on \(object.kind), not a dict")
        }
        return dictionary
    }

    // MARK: - Stack

    /// Pushes `object`, whose nesting depth is `depth` unless it is a list or a dict (they
    /// keep their own).
    private mutating func push(_ object: PickleObject, depth: Int = 0) throws(PickleError) {
        let actual = Self.container(object)?.depth ?? depth
        guard actual <= Self.maximumDepth else { throw Self.tooDeep }
        stack.append(object)
        depths.append(actual)
    }

    private func top() throws(PickleError) -> PickleObject {
        guard let top = stack.last, stack.count > (marks.last ?? 0) else { throw PickleError("stack underflow") }
        return top
    }

    private mutating func pop() throws(PickleError) -> (object: PickleObject, depth: Int) {
        guard stack.count > (marks.last ?? 0) else { throw PickleError("stack underflow") }
        let object = stack.removeLast()
        let depth = depths.removeLast()
        return (object, Self.container(object)?.depth ?? depth)
    }

    /// The items above the last MARK, and the deepest of them.
    private mutating func popToMark() throws(PickleError) -> (items: [PickleObject], depth: Int) {
        guard let mark = marks.popLast() else { throw PickleError("no MARK to pop to") }
        let items = Array(stack[mark...])
        let depth = zip(items, depths[mark...]).map { Self.container($0)?.depth ?? $1 }.max() ?? 0
        stack.removeSubrange(mark...)
        depths.removeSubrange(mark...)
        return (items, depth)
    }

    private func memoized(_ index: Int) throws(PickleError) -> (object: PickleObject, depth: Int) {
        guard let entry = memo[index] else { throw PickleError("memo entry \(index) was never stored") }
        return entry
    }

    // MARK: - Depth

    private static let tooDeep = PickleError("values nested more than \(maximumDepth) levels deep")

    private static func container(_ object: PickleObject) -> (any PickleContainer)? {
        switch object {
        case .list(let list): list
        case .dictionary(let dictionary): dictionary
        default: nil
        }
    }

    /// Lists and dicts placed inside another value: from now on they may not grow, or the
    /// depths recorded above them would be stale.
    private func nest(_ objects: [PickleObject]) {
        for object in objects { Self.container(object)?.isNested = true }
    }

    /// Checks that `container` may take `children` (at most `depth` deep) and records the
    /// depth it reaches.
    private func admit(_ children: [PickleObject], depth: Int, into container: any PickleContainer) throws(PickleError) {
        guard !container.isNested else { throw PickleError("a list or dict grew after it was placed inside another value") }
        guard depth + 1 <= Self.maximumDepth else { throw Self.tooDeep }
        container.depth = max(container.depth, depth + 1)
        nest(children)
    }

    // MARK: - Operands

    private func wrap<T>(_ body: () throws(StateDictError) -> T) throws(PickleError) -> T {
        do {
            return try body()
        } catch {
            throw PickleError(error.reason)
        }
    }

    private mutating func read<T: FixedWidthInteger>(_ type: T.Type) throws(PickleError) -> T {
        try wrap { () throws(StateDictError) in try reader.read(T.self) }
    }

    private mutating func readBytes(_ count: Int) throws(PickleError) -> Data {
        try wrap { () throws(StateDictError) in try reader.readBytes(count) }
    }

    private mutating func readString(byteCount: Int) throws(PickleError) -> String {
        try wrap { () throws(StateDictError) in try reader.readString(byteCount) }
    }

    private func length(_ value: UInt64) throws(PickleError) -> Int {
        guard let length = Int(exactly: value) else { throw PickleError("length \(value) is too large") }
        return length
    }

    /// A two's-complement little-endian integer of `byteCount` bytes (LONG1, LONG4).
    private mutating func readLong(byteCount: Int) throws(PickleError) -> Int {
        guard byteCount >= 0 else { throw PickleError("negative integer length") }
        let bytes = try readBytes(byteCount)
        guard byteCount > 0 else { return 0 }
        // Wider encodings are fine while the extra bytes only extend the sign.
        let isNegative = bytes[bytes.count - 1] & 0x80 != 0
        let signByte: UInt8 = isNegative ? 0xFF : 0
        guard bytes.dropFirst(8).allSatisfy({ $0 == signByte }) else {
            throw PickleError("integer wider than 64 bits")
        }
        var value: UInt64 = 0
        for (index, byte) in bytes.prefix(8).enumerated() { value |= UInt64(byte) << (8 * UInt64(index)) }
        if byteCount < 8 && isNegative { value |= ~0 << (8 * UInt64(byteCount)) }
        let result = Int(truncatingIfNeeded: value)
        guard byteCount <= 8 || (result < 0) == isNegative else { throw PickleError("integer wider than 64 bits") }
        return result
    }
}
