import Foundation

/// A response as read off the socket.
struct TestResponse: Sendable {
    let status: Int
    let headers: [String: String]
    let body: Data

    func header(_ name: String) -> String? { headers[name.lowercased()] }

    /// The body parsed as a JSON object (by Foundation, independently of Taskgate's own parser).
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed])) as? [String: Any] ?? [:]
    }

    var text: String { String(decoding: body, as: UTF8.self) }
}

/// A minimal HTTP/1.1 client over a plain TCP socket: one connection per request, `Connection: close`.
struct HTTPClient: Sendable {
    let port: Int

    func get(_ path: String) throws -> TestResponse {
        try request("GET", path)
    }

    func post(_ path: String, json: String, contentType: String = "application/json") throws -> TestResponse {
        try request("POST", path, headers: ["Content-Type": contentType], body: Data(json.utf8))
    }

    func request(
        _ method: String, _ path: String, headers: [String: String] = [:], body: Data? = nil
    ) throws -> TestResponse {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if let body, headers["Transfer-Encoding"] == nil { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        var bytes = Data(head.utf8)
        if let body { bytes.append(body) }
        return try exchange(rawRequest: bytes)
    }

    /// Sends raw bytes (head and body exactly as given) and reads the response until the server closes.
    func exchange(rawRequest: Data) throws -> TestResponse {
        let fd = try connectSocket()
        defer { close(fd) }
        rawRequest.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let sent = send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if sent <= 0 { break }  // the server may answer early and close (413, 415)
                offset += sent
            }
        }
        return try readResponse(fd)
    }

    /// Opens a connection with a 30 s receive timeout, so no test hangs forever.
    /// A connected socket; `receiveBufferBytes` shrinks its receive buffer (set before connecting, so the
    /// window the server sees is small too), for a test that wants a reader's buffers full soon; `source` binds
    /// the local end to that loopback address first (`127.0.0.2`), for a test that needs a second client address.
    func connectSocket(receiveBufferBytes: Int32? = nil, from source: String? = nil) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        if var receiveBufferBytes {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receiveBufferBytes, socklen_t(MemoryLayout<Int32>.size))
        }
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = inet_addr(source)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard bound == 0 else {
                close(fd)
                throw TestFailure("cannot bind to \(source): errno \(errno)")
            }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Foundation.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            close(fd)
            throw TestFailure("cannot connect to 127.0.0.1:\(port): errno \(errno)")
        }
        return fd
    }

    func readResponse(_ fd: Int32) throws -> TestResponse {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            data.append(contentsOf: buffer[0..<count])
        }
        guard let split = data.range(of: Data("\r\n\r\n".utf8)) else {
            throw TestFailure("no complete response head in \(data.count) bytes")
        }
        let head = String(decoding: data[..<split.lowerBound], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
            throw TestFailure("bad status line in \(head)")
        }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        var body = Data(data[split.upperBound...])
        if let length = headers["content-length"].flatMap({ Int($0) }), body.count > length {
            body = body.prefix(length)
        }
        return TestResponse(status: status, headers: headers, body: body)
    }
}
