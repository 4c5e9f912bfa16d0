import Foundation

/// One Server-Sent Event as a client reads it.
struct StreamEvent: Sendable {
    let id: String?
    let name: String
    let data: String

    /// The data parsed as a JSON object (by Foundation).
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any] ?? [:]
    }
}

/// A `text/event-stream` client over a plain socket: sends the GET, reads the head, then decodes the chunked
/// body into events as they arrive. Blocking reads with a 30 s timeout: call it off the shared async pool.
final class EventStreamClient: @unchecked Sendable {
    // @unchecked: one test drives each client from one thread at a time.
    private(set) var fd: Int32
    private(set) var status = 0
    private(set) var headers: [String: String] = [:]
    /// `true` once the server sent the last chunk (the stream ended cleanly).
    private(set) var endedCleanly = false
    /// `true` once the connection closed (cleanly or not).
    private(set) var closed = false
    private var raw = Data()
    private var decoded = Data()
    private var headRead = false
    /// When waiting for more of the stream gives up, on the monotonic clock: keep-alive comments keep the
    /// socket's own timeout from ever firing on a stream that never ends.
    private var deadline: ContinuousClock.Instant?

    /// Connects and sends `GET path` (with `Last-Event-ID` when given); call ``readHead()`` next.
    init(
        port: Int, path: String, lastEventID: String? = nil, headers extra: [String: String] = [:],
        receiveBufferBytes: Int32? = nil
    ) throws {
        fd = try HTTPClient(port: port).connectSocket(receiveBufferBytes: receiveBufferBytes)
        var head = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAccept: text/event-stream\r\n"
        if let lastEventID { head += "Last-Event-ID: \(lastEventID)\r\n" }
        for (name, value) in extra { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        let bytes = Array(head.utf8)
        guard send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else {
            disconnect()
            throw TestFailure("cannot send the stream request")
        }
    }

    deinit { disconnect() }

    /// Closes the connection (once: a second close could close a descriptor the process has reused since).
    func disconnect() {
        if fd >= 0 { close(fd) }
        fd = -1
    }

    /// Reads the status line and headers.
    func readHead() throws {
        while !headRead {
            if let split = raw.range(of: Data("\r\n\r\n".utf8)) {
                let text = String(decoding: raw[..<split.lowerBound], as: UTF8.self)
                var lines = text.components(separatedBy: "\r\n")
                status = Int(lines.removeFirst().split(separator: " ")[1]) ?? 0
                for line in lines {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    headers[line[..<colon].lowercased()] = line[line.index(after: colon)...]
                        .trimmingCharacters(in: .whitespaces)
                }
                raw = Data(raw[split.upperBound...])
                headRead = true
            } else if try !receive() {
                throw TestFailure("the connection closed before a response head")
            }
        }
    }

    /// The body of a non-stream answer (a problem), read to the end.
    func readPlainBody() throws -> Data {
        try readHead()
        let length = headers["content-length"].flatMap(Int.init)
        while length.map({ raw.count < $0 }) ?? true, try receive() {}
        return length.map { raw.prefix($0) } ?? raw
    }

    /// The next event; `nil` once the stream is over. Comments and `retry:` lines are skipped.
    func next() throws -> StreamEvent? {
        try readHead()
        while true {
            decodeChunks()
            if let split = decoded.range(of: Data("\n\n".utf8)) {
                let block = String(decoding: decoded[..<split.lowerBound], as: UTF8.self)
                decoded = Data(decoded[split.upperBound...])
                var id: String?
                var name = "message"
                var data: [String] = []
                for line in block.split(separator: "\n", omittingEmptySubsequences: false) {
                    if line.hasPrefix("id: ") { id = String(line.dropFirst(4)) }
                    if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) }
                    if line.hasPrefix("data: ") { data.append(String(line.dropFirst(6))) }
                }
                if data.isEmpty { continue }
                return StreamEvent(id: id, name: name, data: data.joined(separator: "\n"))
            }
            if endedCleanly || closed { return nil }
            if let deadline, ContinuousClock.now > deadline {
                throw TestFailure("the stream did not end: no event for it before the wait ran out")
            }
            if try !receive() { closed = true }
        }
    }

    /// Every event until the stream ends; throws when it has not ended `seconds` after the call (counted from
    /// here, when the caller expects the end to be on its way), so a lost event fails a test instead of
    /// holding it forever.
    func readToEnd(within seconds: Int = 120) throws -> [StreamEvent] {
        deadline = .now + .seconds(seconds)
        defer { deadline = nil }
        var events: [StreamEvent] = []
        while let event = try next() { events.append(event) }
        return events
    }

    /// One read from the socket; `false` at end of file.
    @discardableResult
    func receive() throws -> Bool {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = recv(fd, &buffer, buffer.count, 0)
        if count < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK { throw TestFailure("no data on the stream for 30 s") }
            closed = true
            return false
        }
        if count == 0 {
            closed = true
            return false
        }
        raw.append(contentsOf: buffer[0..<count])
        return true
    }

    /// Moves complete chunks of the chunked body from `raw` to `decoded`.
    private func decodeChunks() {
        while let line = raw.range(of: Data("\r\n".utf8)) {
            let sizeText = String(decoding: raw[..<line.lowerBound], as: UTF8.self)
            guard let size = Int(sizeText.split(separator: ";").first ?? "", radix: 16) else { return }
            let start = line.upperBound
            guard raw.count - (start - raw.startIndex) >= size + 2 else { return }
            if size == 0 {
                endedCleanly = true
                raw = Data()
                return
            }
            decoded.append(raw[start..<(start + size)])
            raw = Data(raw[(start + size + 2)...])
        }
    }
}
