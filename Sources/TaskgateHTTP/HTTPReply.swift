import CMicroHTTPD
import Synchronization

/// The way to answer a request later, from any thread: call ``send(_:)-(HTTPResponse)`` exactly once.
///
/// When the responder has not answered by the time ``HTTPResponder/respond(to:reply:)`` returns, the server
/// suspends the connection: no libmicrohttpd thread waits for the answer (for example while a pipelined
/// Redis call is under way). ``send(_:)-(()->HTTPResponse)`` resumes it, and the response is built and
/// queued on a server thread.
public final class HTTPReply: Sendable {
    private struct State {
        var make: (@Sendable () -> HTTPResponse)?
        var suspended = false
    }

    private let state = Mutex(State())
    private let connection: ConnectionHandle

    init(connection: OpaquePointer) {
        self.connection = ConnectionHandle(pointer: connection)
    }

    /// Answers with `response`.
    public func send(_ response: HTTPResponse) {
        send { response }
    }

    /// Answers with the response `make` builds; it runs on a server thread, so the caller's thread (a Redis
    /// writer, say) does not spend time rendering.
    public func send(_ make: @escaping @Sendable () -> HTTPResponse) {
        let resume = state.withLock { state -> Bool in
            precondition(state.make == nil, "a request was answered twice")
            state.make = make
            return state.suspended
        }
        if resume { MHD_resume_connection(connection.pointer) }
    }

    /// The answer if it is there already; otherwise suspends the connection (on a server thread, inside the
    /// access handler) so that ``send(_:)`` resumes it, and returns `nil`.
    func answerOrSuspend() -> (@Sendable () -> HTTPResponse)? {
        state.withLock { state in
            if let make = state.make { return make }
            state.suspended = true
            // Under the lock, so that send() cannot resume before the suspension happened.
            MHD_suspend_connection(connection.pointer)
            return nil
        }
    }

    /// The answer, once ``send(_:)`` has resumed the connection.
    func answer() -> (@Sendable () -> HTTPResponse)? {
        state.withLock { $0.make }
    }
}

/// A libmicrohttpd connection pointer carried to the thread that resumes it.
private struct ConnectionHandle: @unchecked Sendable {
    // @unchecked: the pointer is only passed to MHD_suspend_connection / MHD_resume_connection, which
    // libmicrohttpd allows from any thread (the daemon runs with MHD_ALLOW_SUSPEND_RESUME), and the
    // connection outlives the reply: it cannot complete while suspended.
    let pointer: OpaquePointer
}
