import Foundation
import Synchronization

/// A small keep-alive HTTP/1.1 server on a loopback port that records every request and answers as the test
/// says: the application a push worker calls. Each connection is served on a thread of its own.
final class TestHTTPReceiver: Sendable {
    /// One request as received.
    struct Request: Sendable {
        let method: String
        let path: String
        /// Header names lower-cased.
        let headers: [String: String]
        let body: Data
        /// Which connection it came on (1, 2, ...): equal numbers mean the connection was reused.
        let connection: Int

        func header(_ name: String) -> String? { headers[name.lowercased()] }
    }

    /// An answer; `nil` from the responder holds the request unanswered (a hung application).
    struct Answer: Sendable {
        var status: Int
        var headers: [(String, String)] = []
        var body: String = ""
    }

    let port: Int
    private let listener: Int32
    private let recorded = Mutex<[Request]>([])
    private let connections = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)
    private let responder: @Sendable (Request, Int) -> Answer?

    /// Starts listening; `responder` gets each request and its number (1 for the first).
    init(_ responder: @escaping @Sendable (Request, Int) -> Answer?) throws {
        self.responder = responder
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 64) == 0 else { throw TestFailure("receiver cannot listen: errno \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    /// The URL of `path` on this receiver.
    func url(_ path: String = "/hook") -> String { "http://127.0.0.1:\(port)\(path)" }

    /// `scheme://host:port`: what records name of a receiver (never its path or query).
    var origin: String { "http://127.0.0.1:\(port)" }

    /// Every request so far.
    var requests: [Request] { recorded.withLock { $0 } }

    func stop() {
        stopped.store(true, ordering: .releasing)
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func acceptLoop() {
        while !stopped.load(ordering: .acquiring) {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            let number = connections.add(1, ordering: .relaxed).newValue
            Thread.detachNewThread { [self] in serve(client, connection: number) }
        }
    }

    private func serve(_ fd: Int32, connection: Int) {
        defer { close(fd) }
        var buffer = Data()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            // Head
            while buffer.range(of: Data("\r\n\r\n".utf8)) == nil {
                let count = recv(fd, &chunk, chunk.count, 0)
                if count <= 0 { return }
                buffer.append(contentsOf: chunk[0..<count])
            }
            let headEnd = buffer.range(of: Data("\r\n\r\n".utf8))!
            let head = String(decoding: buffer[buffer.startIndex..<headEnd.lowerBound], as: UTF8.self)
            var lines = head.components(separatedBy: "\r\n")
            let requestLine = lines.removeFirst().split(separator: " ")
            var headers: [String: String] = [:]
            for line in lines {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                    in: .whitespaces)
            }
            let length = Int(headers["content-length"] ?? "0") ?? 0
            buffer.removeSubrange(buffer.startIndex..<headEnd.upperBound)
            while buffer.count < length {
                let count = recv(fd, &chunk, chunk.count, 0)
                if count <= 0 { return }
                buffer.append(contentsOf: chunk[0..<count])
            }
            let body = buffer.prefix(length)
            buffer.removeFirst(length)
            let request = Request(
                method: requestLine.first.map(String.init) ?? "",
                path: requestLine.dropFirst().first.map(String.init) ?? "",
                headers: headers, body: Data(body), connection: connection)
            let number = recorded.withLock { list -> Int in
                list.append(request)
                return list.count
            }
            guard let answer = responder(request, number) else {
                // Hold the request: read until the client gives up and closes.
                while recv(fd, &chunk, chunk.count, 0) > 0 {}
                return
            }
            var text = "HTTP/1.1 \(answer.status) Status\r\nContent-Length: \(answer.body.utf8.count)\r\n"
            for (name, value) in answer.headers { text += "\(name): \(value)\r\n" }
            text += "\r\n" + answer.body
            let bytes = Array(text.utf8)
            var offset = 0
            while offset < bytes.count {
                let sent = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if sent <= 0 { return }
                offset += sent
            }
        }
    }
}
