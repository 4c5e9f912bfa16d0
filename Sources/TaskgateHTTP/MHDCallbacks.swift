import CMicroHTTPD
import Glibc

/// The C callbacks libmicrohttpd calls on its own threads.
///
/// They are static members of a type in their own file, never closures in top-level code: those would
/// be main-actor isolated and crash when a C thread calls them. The context pointer is the ``HTTPServer``.
enum MHDCallbacks {
    /// Called once with the headers, once per body chunk, and once more at the end of the body.
    static let access: MHD_AccessHandlerCallback = {
        context, connection, url, method, _, uploadData, uploadSize, exchangePointer in
        guard let context, let connection, let exchangePointer, let uploadSize else { return .NO }
        let server = Unmanaged<HTTPServer>.fromOpaque(context).takeUnretainedValue()

        guard let existing = exchangePointer.pointee else {
            var head = HTTPRequest(
                method: method.map { String(cString: $0) } ?? "GET",
                path: url.map { String(cString: $0) } ?? "/",
                fields: fields(of: connection, kind: .HEADER_KIND))
            head.query = fields(of: connection, kind: .GET_ARGUMENT_KIND)
            let exchange = HTTPExchange(head: head)
            exchangePointer.pointee = Unmanaged.passRetained(exchange).toOpaque()
            server.requestStarted()
            if let early = server.responder.preflight(head) {
                exchange.answered = true
                return queue(early, on: connection, server: server, for: exchange)
            }
            exchange.head.passedPreflight = true
            let declared = head.contentLength
            exchange.declaredLength = declared
            if let length = declared, length > server.configuration.maxBodyBytes {
                exchange.answered = true
                let response = server.responder.payloadTooLarge(head, limit: server.configuration.maxBodyBytes)
                return queue(response, on: connection, server: server, for: exchange)
            }
            if let length = declared, length > 0 {
                // Reserved before a byte is read: a body the budget cannot hold is refused, not buffered.
                guard server.budget.reserve(length) else {
                    exchange.answered = true
                    return queue(overloaded(head, server: server), on: connection, server: server, for: exchange)
                }
                exchange.reserved = length
            }
            return .YES
        }
        let exchange = Unmanaged<HTTPExchange>.fromOpaque(existing).takeUnretainedValue()

        let size = uploadSize.pointee
        if size > 0 {
            if ContinuousClock.now - exchange.started > .seconds(server.configuration.requestTimeoutSeconds) {
                // A client dribbling its body: drop the connection rather than hold it and its buffer.
                server.logger.info("request body too slow, closing", metadata: ["path": "\(exchange.head.path)"])
                return .NO
            }
            if !exchange.answered && !exchange.tooLarge && !exchange.overBudget {
                let needed = exchange.body.count + size - exchange.reserved
                if needed > 0 && exchange.body.count + size <= server.configuration.maxBodyBytes {
                    // No length declared (chunked), or more than declared: reserve as it comes.
                    if server.budget.reserve(needed, partOf: exchange.body.count + size) {
                        exchange.reserved += needed
                    } else {
                        exchange.overBudget = true
                        exchange.body = []
                    }
                }
                if exchange.overBudget {
                    // Dropped as it arrives; answered with a 503 at the end.
                } else if exchange.body.count + size > server.configuration.maxBodyBytes {
                    // Chunked or lying about its length: stop keeping bytes, answer 413 at the end.
                    exchange.tooLarge = true
                    exchange.body = []
                } else if let uploadData {
                    if exchange.body.isEmpty, let length = exchange.declaredLength {
                        exchange.body.reserveCapacity(length)
                    }
                    exchange.body.append(
                        contentsOf: UnsafeRawBufferPointer(start: UnsafeRawPointer(uploadData), count: size))
                }
            }
            uploadSize.pointee = 0
            return .YES
        }
        if exchange.answered {
            // Called again after a resume: the deferred answer is there.
            if let reply = exchange.reply, let make = reply.answer() {
                exchange.reply = nil
                return queue(make(), on: connection, server: server, for: exchange)
            }
            return .YES
        }
        exchange.answered = true
        if exchange.tooLarge {
            let response = server.responder.payloadTooLarge(exchange.head, limit: server.configuration.maxBodyBytes)
            return queue(response, on: connection, server: server, for: exchange)
        }
        if exchange.overBudget {
            return queue(overloaded(exchange.head, server: server), on: connection, server: server, for: exchange)
        }
        let reply = HTTPReply(connection: connection)
        exchange.reply = reply
        server.responder.respond(to: exchange.request, reply: reply)
        if let make = reply.answerOrSuspend() {
            exchange.reply = nil
            return queue(make(), on: connection, server: server, for: exchange)
        }
        return .YES
    }

    /// Called when a request is finished or aborted; frees what ``access`` allocated.
    static let completed: MHD_RequestCompletedCallback = { context, _, exchangePointer, _ in
        guard let context, let exchangePointer, let existing = exchangePointer.pointee else { return }
        let exchange = Unmanaged<HTTPExchange>.fromOpaque(existing)
        let reserved = exchange.takeUnretainedValue().reserved
        exchange.release()
        exchangePointer.pointee = nil
        let server = Unmanaged<HTTPServer>.fromOpaque(context).takeUnretainedValue()
        // Given back after the exchange (and so the body) is freed.
        server.budget.release(reserved)
        server.requestFinished()
    }

    /// libmicrohttpd's own messages, into the server's logger (source `libmicrohttpd`), so that every line of the
    /// process has one format.
    static let log: MHD_LogCallback = { context, format, arguments in
        guard let context, let format, let arguments else { return }
        let server = Unmanaged<HTTPServer>.fromOpaque(context).takeUnretainedValue()
        var buffer = [CChar](repeating: 0, count: 1024)
        _ = vsnprintf(&buffer, buffer.count, format, arguments)  // longer messages are cut at 1 KiB
        var message = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        while message.last?.isNewline == true { message.removeLast() }
        server.logger.notice("\(message)", source: "libmicrohttpd")
    }

    /// Collects each name and value with its length as libmicrohttpd counts it, so a `%00` in a query value is
    /// kept as a NUL inside the value instead of ending it there (a C string would be cut short, and the value
    /// checked would not be the one sent).
    private static let collectHeader: MHD_KeyValueIteratorN = { context, _, key, keySize, value, valueSize in
        guard let context, let key else { return .YES }
        let collector = Unmanaged<HeaderCollector>.fromOpaque(context).takeUnretainedValue()
        collector.fields.append((text(key, keySize), value.map { text($0, valueSize) } ?? ""))
        return .YES
    }

    private static func text(_ pointer: UnsafePointer<CChar>, _ count: Int) -> String {
        String(decoding: UnsafeRawBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    private static func fields(of connection: OpaquePointer, kind: MHD_ValueKind) -> [(name: String, value: String)] {
        let collector = HeaderCollector()
        _ = MHD_get_connection_values_n(
            connection, kind, collectHeader, Unmanaged.passUnretained(collector).toOpaque())
        return collector.fields
    }

    /// Seconds a client refused for memory is asked to wait.
    static let overloadRetryAfterSeconds = 1

    private static func overloaded(_ head: HTTPRequest, server: HTTPServer) -> HTTPResponse {
        server.logger.info(
            "memory budget full, refusing a body",
            metadata: ["path": "\(head.path)", "in_use": "\(server.budget.inUse)"])
        return server.responder.overloaded(head, retryAfterSeconds: overloadRetryAfterSeconds)
    }

    /// Sends a stream's bytes as libmicrohttpd asks for them; the context is the retained ``HTTPStream``.
    private static let readStream: MHD_ContentReaderCallback = { context, _, buffer, capacity in
        guard let context, let buffer else { return -2 }
        let stream = Unmanaged<HTTPStream>.fromOpaque(context).takeUnretainedValue()
        return stream.read(into: buffer, capacity: capacity)
    }

    /// Called when libmicrohttpd drops a stream's response: the stream is over.
    private static let releaseStream: MHD_ContentReaderFreeCallback = { context in
        guard let context else { return }
        let stream = Unmanaged<HTTPStream>.fromOpaque(context)
        stream.takeUnretainedValue().released()
        stream.release()
    }

    private static func queue(
        _ response: HTTPResponse, on connection: OpaquePointer, server: HTTPServer, for exchange: HTTPExchange
    ) -> MHD_Result {
        let created: OpaquePointer?
        if let stream = response.stream {
            stream.attach(connection)
            let context = Unmanaged.passRetained(stream).toOpaque()
            // MHD_SIZE_UNKNOWN: sent chunked, as long as the stream lasts.
            created = MHD_create_response_from_callback(UInt64.max, 4096, readStream, context, releaseStream)
            if created == nil { Unmanaged<HTTPStream>.fromOpaque(context).release() }
        } else {
            created = response.body.withUnsafeBytes { bytes in
                MHD_create_response_from_buffer(
                    bytes.count, UnsafeMutableRawPointer(mutating: bytes.baseAddress), .RESPMEM_MUST_COPY)
            }
        }
        guard let created else { return .NO }
        for header in response.headers {
            // withCString lends the string's own bytes; passing a String straight to a C parameter copies it.
            _ = header.name.withCString { name in
                header.value.withCString { value in MHD_add_response_header(created, name, value) }
            }
        }
        if server.isStopping {
            _ = MHD_add_response_header(created, "Connection", "close")
        }
        let result = MHD_queue_response(connection, UInt32(response.status), created)
        MHD_destroy_response(created)
        server.responder.responded(exchange.head, status: response.status, after: .now - exchange.started)
        return result
    }
}
