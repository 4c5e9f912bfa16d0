import Dispatch
import Logging
import Synchronization
import TaskgateCore
import TaskgateHTTP

/// Pull claims that wait for work (`wait_seconds`): each blocks in Redis (`BLMOVE`, woken by the next enqueue,
/// no polling) on a thread and a pooled connection of its own, while its HTTP connection is suspended.
///
/// At most ``limit`` wait at once; more get a 503. On shutdown every waiting claim is answered at once with no
/// tasks; a task its `BLMOVE` still takes afterwards is put straight back at the head of its queue.
final class ClaimWaiters: Sendable {
    /// The most claims waiting at once.
    let limit: Int
    private let store: any TaskStore
    private let logger: Logger
    private let waiting = Mutex<[ObjectIdentifier: Waiter]>([:])
    private let stopped = Atomic<Bool>(false)

    /// One suspended claim; answered exactly once.
    final class Waiter: Sendable {
        let reply: HTTPReply
        private let answered = Atomic<Bool>(false)

        init(reply: HTTPReply) {
            self.reply = reply
        }

        /// Sends `response` unless the claim was answered already; `false` then.
        func answer(_ response: @escaping @Sendable () -> HTTPResponse) -> Bool {
            guard !answered.exchange(true, ordering: .acquiringAndReleasing) else { return false }
            reply.send(response)
            return true
        }
    }

    init(store: any TaskStore, limit: Int, logger: Logger) {
        self.store = store
        self.limit = max(0, limit)
        self.logger = logger
    }

    /// Runs `wait` (a claim that blocks in Redis until a task comes or its time is up) on a thread of its own
    /// and answers through `reply` with `render`; answers `busy()` at once when ``limit`` claims wait already.
    func wait(
        reply: HTTPReply, _ wait: @escaping @Sendable () -> Result<[ClaimedTask], TaskStoreError>,
        render: @escaping @Sendable (Result<[ClaimedTask], TaskStoreError>) -> HTTPResponse,
        busy: @escaping @Sendable () -> HTTPResponse
    ) {
        let waiter = Waiter(reply: reply)
        let admitted = waiting.withLock { waiting -> Bool in
            guard waiting.count < limit, !stopped.load(ordering: .acquiring) else { return false }
            waiting[ObjectIdentifier(waiter)] = waiter
            return true
        }
        guard admitted else {
            _ = waiter.answer(busy)
            return
        }
        // A serial queue of its own: it always gets a thread, however many other waits block theirs.
        DispatchQueue(label: "taskgate.gateway.claim-wait").async {
            let outcome = wait()
            _ = self.waiting.withLock { $0.removeValue(forKey: ObjectIdentifier(waiter)) }
            if !waiter.answer({ render(outcome) }), case .success(let tasks) = outcome {
                self.putBack(tasks)
            }
        }
    }

    /// Answers every waiting claim with no tasks; later claims are answered with `busy`.
    func shutdown(empty: @escaping @Sendable () -> HTTPResponse) {
        stopped.store(true, ordering: .releasing)
        let all = waiting.withLock { waiting -> [Waiter] in
            defer { waiting.removeAll() }
            return Array(waiting.values)
        }
        for waiter in all { _ = waiter.answer(empty) }
    }

    /// How many claims wait now.
    var count: Int { waiting.withLock { $0.count } }

    private func putBack(_ tasks: [ClaimedTask]) {
        for task in tasks {
            do throws(TaskStoreError) {
                try store.requeue(task.lease)
            } catch {
                logger.warning(
                    "could not put back a task claimed after shutdown; recovery will",
                    metadata: ["id": "\(task.record.id)", "error": "\(error)"])
            }
        }
    }
}
