import Foundation

/// A float32 or uint8 `.npy` the fixture scripts wrote: its shape and values (C order, little-endian).
struct NumPyReference {
    struct Failure: Error, CustomStringConvertible { var description: String }

    let shape: [Int]
    let values: [Float]

    init(contentsOf url: URL) throws {
        let bytes = [UInt8](try Data(contentsOf: url))
        guard bytes.count > 10, bytes[0] == 0x93, Array(bytes[1...5]) == Array("NUMPY".utf8) else {
            throw Failure(description: "\(url.lastPathComponent) is not a .npy file")
        }
        let major = Int(bytes[6])
        let (lengthBytes, start) = major == 1 ? (2, 10) : (4, 12)
        let length = (0..<lengthBytes).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
        let header = String(decoding: bytes[start..<(start + length)], as: UTF8.self)
        let bytesPerValue = header.contains("'descr': '|u1'") ? 1 : 4
        guard header.contains("'descr': '<f4'") || bytesPerValue == 1, header.contains("'fortran_order': False"),
            let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")")
        else {
            throw Failure(description: "\(url.lastPathComponent): not a C-ordered float32 or uint8 array: \(header)")
        }
        shape = header[open.upperBound..<close].split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let data = bytes[(start + length)...]
        guard data.count == shape.reduce(1, *) * bytesPerValue else { throw Failure(description: "\(url.lastPathComponent): \(data.count) bytes for \(shape)") }
        if bytesPerValue == 1 {
            values = data.map(Float.init)
            return
        }
        values = stride(from: data.startIndex, to: data.endIndex, by: 4).map { index in
            Float(bitPattern: (0..<4).reduce(UInt32(0)) { $0 | UInt32(data[index + $1]) << (8 * UInt32($1)) })
        }
    }
}
