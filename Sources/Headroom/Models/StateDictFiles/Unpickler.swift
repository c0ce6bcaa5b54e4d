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
    /// Stack heights at each MARK.
    private var marks: [Int] = []
    private var memo: [Int: PickleObject] = [:]

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
            return try pop()

        // Constants and scalars.
        case 0x4E: stack.append(.none)  // NONE
        case 0x88: stack.append(.bool(true))  // NEWTRUE
        case 0x89: stack.append(.bool(false))  // NEWFALSE
        case 0x4B: stack.append(.int(Int(try read(UInt8.self))))  // BININT1
        case 0x4D: stack.append(.int(Int(try read(UInt16.self))))  // BININT2
        case 0x4A: stack.append(.int(Int(try read(Int32.self))))  // BININT
        case 0x8A: stack.append(.int(try readLong(byteCount: Int(try read(UInt8.self)))))  // LONG1
        case 0x8B: stack.append(.int(try readLong(byteCount: Int(try read(Int32.self)))))  // LONG4
        case 0x47:  // BINFLOAT, big-endian unlike everything else
            stack.append(
                .float(
                    Double(bitPattern: try wrap { () throws(StateDictError) in try reader.readBigEndian(UInt64.self) }))
            )
        case 0x8C: stack.append(.string(try readString(byteCount: Int(try read(UInt8.self)))))  // SHORT_BINUNICODE
        case 0x58: stack.append(.string(try readString(byteCount: Int(try read(UInt32.self)))))  // BINUNICODE
        case 0x8D: stack.append(.string(try readString(byteCount: try length(try read(UInt64.self)))))  // BINUNICODE8
        case 0x43: stack.append(.bytes(try readBytes(Int(try read(UInt8.self)))))  // SHORT_BINBYTES
        case 0x42: stack.append(.bytes(try readBytes(Int(try read(UInt32.self)))))  // BINBYTES
        case 0x8E: stack.append(.bytes(try readBytes(try length(try read(UInt64.self)))))  // BINBYTES8

        // Containers.
        case 0x28: marks.append(stack.count)  // MARK
        case 0x29: stack.append(.tuple([]))  // EMPTY_TUPLE
        case 0x5D: stack.append(.list(PickleList()))  // EMPTY_LIST
        case 0x7D: stack.append(.dictionary(PickleDictionary()))  // EMPTY_DICT
        case 0x74: stack.append(.tuple(try popToMark()))  // TUPLE
        case 0x85, 0x86, 0x87:  // TUPLE1, TUPLE2, TUPLE3
            let count = Int(opcode - 0x84)
            guard stack.count - count >= (marks.last ?? 0) else { throw PickleError("stack underflow") }
            let elements = Array(stack.suffix(count))
            stack.removeLast(count)
            stack.append(.tuple(elements))
        case 0x6C: stack.append(.list(PickleList(try popToMark())))  // LIST
        case 0x64:  // DICT
            let dictionary = PickleDictionary()
            try setItems(try popToMark(), in: dictionary)
            stack.append(.dictionary(dictionary))
        case 0x61:  // APPEND
            let value = try pop()
            try list(at: try top()).elements.append(value)
        case 0x65:  // APPENDS
            let values = try popToMark()
            try list(at: try top()).elements += values
        case 0x73:  // SETITEM
            let value = try pop()
            let key = try pop()
            try setItems([key, value], in: try dictionary(at: try top()))
        case 0x75:  // SETITEMS
            let items = try popToMark()
            try setItems(items, in: try dictionary(at: try top()))

        // Stack and memo.
        case 0x30: _ = try pop()  // POP
        case 0x31: _ = try popToMark()  // POP_MARK
        case 0x32: stack.append(try top())  // DUP
        case 0x71: memo[Int(try read(UInt8.self))] = try top()  // BINPUT
        case 0x72: memo[Int(try read(UInt32.self))] = try top()  // LONG_BINPUT
        case 0x94: memo[memo.count] = try top()  // MEMOIZE
        case 0x68: stack.append(try memoized(Int(try read(UInt8.self))))  // BINGET
        case 0x6A: stack.append(try memoized(Int(try read(UInt32.self))))  // LONG_BINGET

        // Objects: only through the allow-list.
        case 0x63:  // GLOBAL "module\nname\n"
            let module = try wrap { () throws(StateDictError) in try reader.readLine() }
            let name = try wrap { () throws(StateDictError) in try reader.readLine() }
            stack.append(.global(try global(module: module, name: name)))
        case 0x93:  // STACK_GLOBAL
            guard case .string(let name) = try pop(), case .string(let module) = try pop() else {
                throw PickleError("STACK_GLOBAL needs two strings")
            }
            stack.append(.global(try global(module: module, name: name)))
        case 0x52:  // REDUCE
            guard case .tuple(let arguments) = try pop() else { throw PickleError("REDUCE arguments are not a tuple") }
            guard case .global(let callable) = try pop() else { throw PickleError("REDUCE target is not callable") }
            stack.append(try callable.reduce(arguments))
        case 0x62:  // BUILD
            let state = try pop()
            try build(try top(), state: state)
        case 0x51:  // BINPERSID
            stack.append(try persistentLoad(try pop()))

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

    private func top() throws(PickleError) -> PickleObject {
        guard let top = stack.last, stack.count > (marks.last ?? 0) else { throw PickleError("stack underflow") }
        return top
    }

    private mutating func pop() throws(PickleError) -> PickleObject {
        guard stack.count > (marks.last ?? 0) else { throw PickleError("stack underflow") }
        return stack.removeLast()
    }

    private mutating func popToMark() throws(PickleError) -> [PickleObject] {
        guard let mark = marks.popLast() else { throw PickleError("no MARK to pop to") }
        let items = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return items
    }

    private func memoized(_ index: Int) throws(PickleError) -> PickleObject {
        guard let object = memo[index] else { throw PickleError("memo entry \(index) was never stored") }
        return object
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
