public import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A one-thread HTTP/1.0 server on 127.0.0.1 for tests that download: it serves `files` by
/// name (404 otherwise) and counts the requests. With `cutAfter`, it promises the whole
/// file's length but closes the connection after that many bytes (an interrupted download).
/// `redirects` answers a name with "302 Found" to another, as mirrors do. Nothing leaves the machine.
public final class LocalHTTPServer: @unchecked Sendable {
    // @unchecked: `requests` is only touched under `lock`; the rest is fixed at init.
    private let holder = PortHolder()
    private let files: [String: Data]
    private let cutAfter: Int?
    private let redirects: [String: String]
    private let lock = NSLock()
    private var requestCount = 0

    public var baseURL: String { "http://127.0.0.1:\(holder.port)/models/" }
    public var requests: Int {
        lock.lock()
        defer { lock.unlock() }
        return requestCount
    }

    public init(files: [String: Data], cutAfter: Int? = nil, redirects: [String: String] = [:]) {
        self.files = files
        self.cutAfter = cutAfter
        self.redirects = redirects
        let thread = Thread { [self] in serve() }
        thread.start()
    }

    /// Closing the listening socket ends the accept loop.
    public func stop() { shutdown(holder.descriptor, Int32(SHUT_RDWR)) }

    private func serve() {
        while true {
            let connection = accept(holder.descriptor, nil, nil)
            guard connection >= 0 else { return }
            lock.lock()
            requestCount += 1
            lock.unlock()
            respond(on: connection)
            close(connection)
        }
    }

    private func respond(on connection: Int32) {
        var request = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !request.contains(Data("\r\n\r\n".utf8)) {
            let count = read(connection, &buffer, buffer.count)
            guard count > 0 else { return }
            request.append(contentsOf: buffer[0..<count])
        }
        let line = String(decoding: request.prefix { $0 != 0x0D }, as: UTF8.self)
        let path = line.split(separator: " ").dropFirst().first.map(String.init) ?? ""
        let name = path.split(separator: "/").last.map(String.init) ?? ""
        if let target = redirects[name], path.hasPrefix("/models/") {
            transmit(Data("HTTP/1.0 302 Found\r\nLocation: /models/\(target)\r\nContent-Length: 0\r\n\r\n".utf8), on: connection)
            return
        }
        guard let body = files[name], path.hasPrefix("/models/") else {
            transmit(Data("HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n".utf8), on: connection)
            return
        }
        transmit(Data("HTTP/1.0 200 OK\r\nContent-Length: \(body.count)\r\nContent-Type: application/octet-stream\r\n\r\n".utf8), on: connection)
        transmit(body.prefix(cutAfter ?? body.count), on: connection)
    }

    private func transmit(_ data: Data, on connection: Int32) {
        data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                // MSG_NOSIGNAL: a client that hung up is an error here, not a SIGPIPE for the test process.
                let written = send(connection, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
                guard written > 0 else { return }
                offset += written
            }
        }
    }
}
