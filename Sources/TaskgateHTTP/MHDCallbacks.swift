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
            let head = HTTPRequest(
                method: method.map { String(cString: $0) } ?? "GET",
                path: url.map { String(cString: $0) } ?? "/",
                fields: fields(of: connection))
            let exchange = HTTPExchange(head: head)
            exchangePointer.pointee = Unmanaged.passRetained(exchange).toOpaque()
            server.requestStarted()
            if let early = server.responder.preflight(head) {
                exchange.answered = true
                return queue(early, on: connection, server: server)
            }
            if let length = head.contentLength, length > server.configuration.maxBodyBytes {
                exchange.answered = true
                let response = server.responder.payloadTooLarge(head, limit: server.configuration.maxBodyBytes)
                return queue(response, on: connection, server: server)
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
            if !exchange.answered && !exchange.tooLarge {
                if exchange.body.count + size > server.configuration.maxBodyBytes {
                    // Chunked or lying about its length: stop keeping bytes, answer 413 at the end.
                    exchange.tooLarge = true
                    exchange.body = []
                } else if let uploadData {
                    if exchange.body.isEmpty, let length = exchange.head.contentLength {
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
                return queue(make(), on: connection, server: server)
            }
            return .YES
        }
        exchange.answered = true
        if exchange.tooLarge {
            let response = server.responder.payloadTooLarge(exchange.head, limit: server.configuration.maxBodyBytes)
            return queue(response, on: connection, server: server)
        }
        let reply = HTTPReply(connection: connection)
        exchange.reply = reply
        server.responder.respond(to: exchange.request, reply: reply)
        if let make = reply.answerOrSuspend() {
            exchange.reply = nil
            return queue(make(), on: connection, server: server)
        }
        return .YES
    }

    /// Called when a request is finished or aborted; frees what ``access`` allocated.
    static let completed: MHD_RequestCompletedCallback = { context, _, exchangePointer, _ in
        guard let context, let exchangePointer, let existing = exchangePointer.pointee else { return }
        Unmanaged<HTTPExchange>.fromOpaque(existing).release()
        exchangePointer.pointee = nil
        Unmanaged<HTTPServer>.fromOpaque(context).takeUnretainedValue().requestFinished()
    }

    private static let collectHeader: MHD_KeyValueIterator = { context, _, key, value in
        guard let context, let key else { return .YES }
        let collector = Unmanaged<HeaderCollector>.fromOpaque(context).takeUnretainedValue()
        collector.fields.append((String(cString: key), value.map { String(cString: $0) } ?? ""))
        return .YES
    }

    private static func fields(of connection: OpaquePointer) -> [(name: String, value: String)] {
        let collector = HeaderCollector()
        _ = MHD_get_connection_values(
            connection, .HEADER_KIND, collectHeader, Unmanaged.passUnretained(collector).toOpaque())
        return collector.fields
    }

    private static func queue(_ response: HTTPResponse, on connection: OpaquePointer, server: HTTPServer) -> MHD_Result
    {
        let created = response.body.withUnsafeBytes { bytes in
            MHD_create_response_from_buffer(
                bytes.count, UnsafeMutableRawPointer(mutating: bytes.baseAddress), .RESPMEM_MUST_COPY)
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
        return result
    }
}
