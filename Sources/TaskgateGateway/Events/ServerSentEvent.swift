/// The text of Server-Sent Events (`text/event-stream`): `id:`, `event:` and `data:` lines and a blank line.
enum ServerSentEvent {
    /// One event; `data` must hold no line break (compact JSON holds none). Without an `id` there is no `id:`
    /// line, and a client's last event id stays as it was.
    static func event(id: String? = nil, name: String, data: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32 + (id?.utf8.count ?? 0) + name.utf8.count + data.count)
        if let id {
            bytes += "id: ".utf8
            bytes += id.utf8
            bytes += "\n".utf8
        }
        bytes += "event: ".utf8
        bytes += name.utf8
        bytes += "\ndata: ".utf8
        bytes += data
        bytes += "\n\n".utf8
        return bytes
    }

    /// The opening of a stream: how long a client waits before reconnecting, and a comment naming it.
    static func opening(_ comment: String) -> [UInt8] {
        Array("retry: 1000\n: \(comment)\n\n".utf8)
    }

    /// The comment sent every 15 s so that proxies keep an idle stream open.
    static let keepAlive = Array(": keep-alive\n\n".utf8)

    /// The response headers of a stream.
    static let headers: [(name: String, value: String)] = [
        ("Content-Type", "text/event-stream"), ("Cache-Control", "no-store"), ("X-Accel-Buffering", "no"),
    ]
}
