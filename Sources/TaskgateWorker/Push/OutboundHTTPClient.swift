import CCurl
import Foundation
import Synchronization

/// The HTTP client every outbound call of a worker uses, push targets and completion callbacks alike: libcurl's
/// multi interface (Debian's prebuilt `libcurl4`, TLS through OpenSSL) driven by one thread of its own.
///
/// Redirects are refused, nothing is decompressed, no proxy is taken from the environment, each call has a
/// connect timeout and may have an overall one, answers are read up to a bound, and connections are kept alive
/// and reused, at most `connectionsPerHost` to one host (more calls to it wait for a free connection). A call
/// whose task is cancelled is taken out at once; its connection is closed and its late answer never read.
/// Nothing here blocks a thread of Swift concurrency: the calls wait on continuations.
public final class OutboundHTTPClient: Sendable {
    private let multi: MultiHandle
    private let state = Mutex(State())

    private struct State {
        var waiting: [(id: UInt64, transfer: OutboundTransfer)] = []
        var cancelled: Set<UInt64> = []
        var stopping = false
        /// The id of the next call: never reused, so a late cancellation cannot reach another call.
        var nextID: UInt64 = 0
    }

    /// A client keeping up to `connectionsPerHost` connections to each host.
    public init(connectionsPerHost: Int) {
        Self.initializeLibcurl
        multi = MultiHandle(curl_multi_init())
        _ = taskgate_curl_multi_set_long(multi.pointer, CURLMOPT_MAX_HOST_CONNECTIONS, max(1, connectionsPerHost))
        // The connection cache: enough for every host's connections among a worker's few targets.
        _ = taskgate_curl_multi_set_long(multi.pointer, CURLMOPT_MAXCONNECTS, max(16, connectionsPerHost * 4))
        // The thread holds the client until shutdown() ends it.
        let loop = Thread { self.run() }
        loop.name = "taskgate-http-out"
        loop.start()
    }

    /// POSTs `request` and returns the answer; throws ``OutboundHTTPError`` when there is none, or
    /// `CancellationError` when the task is cancelled first.
    func post(_ request: OutboundRequest) async throws -> OutboundResponse {
        let box = TransferBox()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                guard let transfer = OutboundTransfer(request, continuation: continuation) else {
                    continuation.resume(throwing: OutboundHTTPError(description: "libcurl could not make a handle"))
                    return
                }
                let id = state.withLock { state -> UInt64? in
                    guard !state.stopping else { return nil }
                    state.nextID += 1
                    state.waiting.append((state.nextID, transfer))
                    return state.nextID
                }
                guard let id else {
                    transfer.fail(OutboundHTTPError(description: "the HTTP client has stopped"))
                    return
                }
                box.transfer.withLock { $0 = id }
                // Cancelled before the id was known to the handler: cancel it here.
                if Task.isCancelled { state.withLock { _ = $0.cancelled.insert(id) } }
                curl_multi_wakeup(multi.pointer)
            }
        } onCancel: {
            guard let id = box.transfer.withLock({ $0 }) else { return }
            state.withLock { _ = $0.cancelled.insert(id) }
            curl_multi_wakeup(multi.pointer)
        }
    }

    /// Ends every call in flight with an error and stops the client's thread; call once nothing will post again.
    public func shutdown() {
        state.withLock { $0.stopping = true }
        curl_multi_wakeup(multi.pointer)
    }

    /// The client's thread: adds new calls, drops cancelled ones, lets libcurl work, and finishes what is done.
    private func run() {
        var active: [UInt64: OutboundTransfer] = [:]
        while true {
            let (added, cancelled, stopping) = state.withLock { state in
                defer {
                    state.waiting.removeAll()
                    state.cancelled.removeAll()
                }
                return (state.waiting, state.cancelled, state.stopping)
            }
            for (id, transfer) in added {
                active[id] = transfer
                transfer.id = id
                curl_multi_add_handle(multi.pointer, transfer.handle)
            }
            for id in cancelled {
                guard let transfer = active.removeValue(forKey: id) else { continue }
                curl_multi_remove_handle(multi.pointer, transfer.handle)
                transfer.fail(CancellationError())
            }
            if stopping {
                for transfer in active.values {
                    curl_multi_remove_handle(multi.pointer, transfer.handle)
                    transfer.fail(OutboundHTTPError(description: "the HTTP client stopped"))
                }
                // A call posted after the last look: refused here, never left waiting.
                for (_, transfer) in state.withLock({ $0.waiting }) {
                    transfer.fail(OutboundHTTPError(description: "the HTTP client stopped"))
                }
                curl_multi_cleanup(multi.pointer)
                return
            }
            var running: Int32 = 0
            curl_multi_perform(multi.pointer, &running)
            var left: Int32 = 0
            while let message = curl_multi_info_read(multi.pointer, &left) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle,
                    let context = taskgate_curl_private(easy)
                else { continue }
                let transfer = Unmanaged<OutboundTransfer>.fromOpaque(context).takeUnretainedValue()
                let result = taskgate_curl_message_result(message)
                curl_multi_remove_handle(multi.pointer, easy)
                active.removeValue(forKey: transfer.id)
                transfer.finish(result)
            }
            // Sleeps until a socket is ready, a timer of libcurl's is due, or curl_multi_wakeup (a new call, a
            // cancellation, shutdown); at most a second.
            curl_multi_poll(multi.pointer, nil, 0, 1000, nil)
        }
    }

    /// `curl_global_init`, once per process, before any handle exists (it is not thread-safe).
    private static let initializeLibcurl: Void = {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
    }()
}

/// The multi handle: used by the client's thread, and by others only through `curl_multi_wakeup`, which libcurl
/// documents as safe to call from any thread; that is what makes the unchecked conformance safe.
private struct MultiHandle: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer

    init(_ pointer: UnsafeMutableRawPointer?) {
        guard let pointer else { fatalError("libcurl could not make a multi handle") }
        self.pointer = pointer
    }
}

/// Which transfer a call made, for its cancellation handler (which may run before or after it exists).
private final class TransferBox: Sendable {
    let transfer = Mutex<UInt64?>(nil)
}
