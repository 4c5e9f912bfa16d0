import Dispatch
import Synchronization
import TaskgateCore
import TaskgateHTTP

/// `GET /tasks/{id}?wait=SECONDS` and `GET /batches/{id}?wait=SECONDS`: answers as soon as the task is final
/// (the batch complete), or with its state when the wait ends.
///
/// Subscribed before the record is read, so a task that finishes in between is seen; no polling: the final
/// event (or the timer, or the gateway stopping) triggers one read of the record and the answer.
final class LongPollWaiter: EventListener {
    /// What a waiting request is charged in the memory budget.
    static let budgetCost = 1_024

    private let register: @Sendable (LongPollWaiter) -> EventHub.Registration?
    private let hub: EventHub
    private let budget: MemoryBudget
    private let answer: @Sendable () -> Void
    private let isFinal: @Sendable () -> Bool
    private let state = Mutex<(registration: EventHub.Registration?, answered: Bool)>((nil, false))

    /// `answer` reads the record and replies; it is called once, on a global queue. `isFinal` reads whether
    /// the task is final now (after a resync; `true` too when it is gone or unreadable, to answer at once).
    /// `register` subscribes the waiter to what it waits for (``EventHub/register(_:queue:task:)`` or
    /// ``EventHub/register(_:batch:)``).
    init(
        hub: EventHub, budget: MemoryBudget,
        register: @escaping @Sendable (LongPollWaiter) -> EventHub.Registration?,
        isFinal: @escaping @Sendable () -> Bool, answer: @escaping @Sendable () -> Void
    ) {
        self.isFinal = isFinal
        self.register = register
        self.hub = hub
        self.budget = budget
        self.answer = answer
    }

    /// Subscribes; `false` when the hub could not (Redis down, or stopping).
    func subscribe() -> Bool {
        guard let registration = register(self) else { return false }
        let answeredAlready = state.withLock { state -> Bool in
            state.registration = registration
            return state.answered
        }
        if answeredAlready { hub.unregister(registration) }
        return true
    }

    /// Answers after `seconds` unless something answered first.
    func expire(after seconds: Int) {
        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(seconds)) { [self] in respond() }
    }

    func receive(_ event: TaskEvent) {
        if event.isFinal { respond() }
    }

    func receive(batchEvent event: BatchEvent) {
        if event.isFinal { respond() }
    }

    func resync() {
        DispatchQueue.global().async { [self] in
            if isFinal() { respond() }
        }
    }

    func tick() {}

    func close() {
        respond()
    }

    /// Answers once: unsubscribes, returns the budget, reads and replies off the subscriber's thread.
    func respond() {
        let registration = state.withLock { state -> EventHub.Registration?? in
            guard !state.answered else { return .none }
            state.answered = true
            defer { state.registration = nil }
            return .some(state.registration)
        }
        guard let registration else { return }
        registration.map(hub.unregister)
        budget.release(Self.budgetCost)
        DispatchQueue.global().async(execute: answer)
    }
}
