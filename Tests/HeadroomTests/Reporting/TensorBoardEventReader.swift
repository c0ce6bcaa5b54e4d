import Foundation
import TestSupport

/// An independent reader for the TensorBoard files the writer produces: a bitwise
/// CRC-32C (not the writer's table), and the tests' own protobuf decoder.
enum TensorBoardEventReader {
    struct Failure: Error, CustomStringConvertible { var description: String }

    struct Scalar: Equatable {
        var tag: String
        var step: Int64
        var value: Float
        var wallTime: Double
    }

    typealias Field = ProtobufFields.Field

    static func bitwiseCRC32C(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc >> 1) ^ (crc & 1 == 1 ? 0x82F6_3B78 : 0) }
        }
        return ~crc
    }

    static func masked(_ crc: UInt32) -> UInt32 { ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8 }

    /// The payload of every record, each checksum verified.
    static func records(_ data: [UInt8]) throws -> [[UInt8]] {
        var records: [[UInt8]] = []
        var offset = 0
        func littleEndian(_ count: Int) throws -> UInt64 {
            guard offset + count <= data.count else { throw Failure(description: "truncated at \(offset)") }
            let value = (0..<count).reduce(UInt64(0)) { $0 | UInt64(data[offset + $1]) << (8 * UInt64($1)) }
            offset += count
            return value
        }
        while offset < data.count {
            let lengthBytes = Array(data[offset..<min(offset + 8, data.count)])
            let length = Int(try littleEndian(8))
            guard try littleEndian(4) == masked(bitwiseCRC32C(lengthBytes)) else { throw Failure(description: "length CRC") }
            guard offset + length <= data.count else { throw Failure(description: "truncated payload") }
            let payload = Array(data[offset..<offset + length])
            offset += length
            guard try littleEndian(4) == masked(bitwiseCRC32C(payload)) else { throw Failure(description: "payload CRC") }
            records.append(payload)
        }
        return records
    }

    static func fields(_ message: [UInt8]) throws -> [(number: UInt64, field: Field)] {
        try ProtobufFields.decode(message)
    }

    /// The file_version of the first record, and every scalar after it.
    static func read(_ url: URL) throws -> (fileVersion: String?, scalars: [Scalar]) {
        let records = try records(Array(try Data(contentsOf: url)))
        var fileVersion: String?
        var scalars: [Scalar] = []
        for (index, record) in records.enumerated() {
            var wallTime = 0.0
            var step: Int64 = 0
            for (number, field) in try fields(record) {
                switch (number, field) {
                case (1, .fixed64(let bits)): wallTime = Double(bitPattern: bits)
                case (2, .varint(let value)): step = Int64(bitPattern: value)
                case (3, .bytes(let bytes)) where index == 0: fileVersion = String(decoding: bytes, as: UTF8.self)
                case (5, .bytes(let summary)):
                    for case (1, .bytes(let value)) in try fields(summary) {
                        var tag = ""
                        var number: Float = .nan
                        for (valueNumber, valueField) in try fields(value) {
                            if case (1, .bytes(let bytes)) = (valueNumber, valueField) { tag = String(decoding: bytes, as: UTF8.self) }
                            if case (2, .fixed32(let bits)) = (valueNumber, valueField) { number = Float(bitPattern: bits) }
                        }
                        scalars.append(Scalar(tag: tag, step: step, value: number, wallTime: wallTime))
                    }
                default: break
                }
            }
        }
        return (fileVersion, scalars)
    }
}
