import Foundation

@testable import HeadroomFormats

/// Builds a minimal zip archive of stored entries, so tests can wrap
/// hand-written pickles in the torch.save layout.
enum StoredZip {
    static func archive(_ entries: [(name: String, contents: Data)]) -> Data {
        var output = Data()
        var directory = Data()
        func append<T: FixedWidthInteger>(_ value: T, to data: inout Data) {
            withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
        }
        for (name, contents) in entries {
            let offset = UInt32(output.count)
            let crc = contents.withUnsafeBytes(CRC32.checksum)
            let nameBytes = Data(name.utf8)
            append(UInt32(0x0403_4B50), to: &output)
            for value: UInt16 in [20, 0, 0, 0, 0] { append(value, to: &output) }
            for value: UInt32 in [crc, UInt32(contents.count), UInt32(contents.count)] { append(value, to: &output) }
            append(UInt16(nameBytes.count), to: &output)
            append(UInt16(0), to: &output)
            output += nameBytes + contents

            append(UInt32(0x0201_4B50), to: &directory)
            for value: UInt16 in [20, 20, 0, 0, 0, 0] { append(value, to: &directory) }
            for value: UInt32 in [crc, UInt32(contents.count), UInt32(contents.count)] { append(value, to: &directory) }
            for value: UInt16 in [UInt16(nameBytes.count), 0, 0, 0, 0] { append(value, to: &directory) }
            append(UInt32(0), to: &directory)
            append(offset, to: &directory)
            directory += nameBytes
        }
        let directoryOffset = UInt32(output.count)
        output += directory
        append(UInt32(0x0605_4B50), to: &output)
        for value: UInt16 in [0, 0, UInt16(entries.count), UInt16(entries.count)] { append(value, to: &output) }
        append(UInt32(directory.count), to: &output)
        append(directoryOffset, to: &output)
        append(UInt16(0), to: &output)
        return output
    }

    /// A torch.save-shaped archive around `pickle`.
    static func checkpoint(pickle: [UInt8], storages: [String: Data] = [:]) -> Data {
        archive(
            [("archive/data.pkl", Data(pickle)), ("archive/byteorder", Data("little".utf8))]
                + storages.sorted { $0.key < $1.key }.map { ("archive/data/\($0.key)", $0.value) }
                + [("archive/version", Data("3\n".utf8))])
    }
}
