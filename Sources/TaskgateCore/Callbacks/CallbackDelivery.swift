/// How the delivery of a task's completion callback stands, as its record keeps it.
public struct CallbackDelivery: Sendable, Equatable {
    /// Where a delivery is.
    public enum State: String, Sendable {
        /// Due, or being tried.
        case pending
        /// The receiver answered 2xx.
        case delivered
        /// Every try failed, or the host is no longer allowed; the id is on the dead callbacks set.
        case dead
    }

    /// Where the delivery is.
    public var state: State
    /// Tries started so far.
    public var tries: Int
    /// The HTTP status of the last answer; `nil` before one, or when the last try got none (refused, timed out).
    public var lastStatus: Int?
    /// Why the last try failed, if it did.
    public var lastError: String?
    /// When the delivery ended (delivered or dead).
    public var finishedAt: Timestamp?

    /// Creates a delivery state.
    public init(state: State, tries: Int, lastStatus: Int?, lastError: String?, finishedAt: Timestamp?) {
        self.state = state
        self.tries = tries
        self.lastStatus = lastStatus
        self.lastError = lastError
        self.finishedAt = finishedAt
    }

    /// The `callback_*` fields of a task hash as they are read, in any order.
    struct Fields {
        var state: State?
        var tries = 0
        var status: Int?
        var error: String?
        var at: Int?

        /// Takes one hash field if it is a callback field; ignores any other.
        mutating func read(_ name: String, _ value: String) {
            switch name {
            case "callback_state": state = State(rawValue: value)
            case "callback_tries": tries = Int(value) ?? 0
            case "callback_status": status = Int(value).flatMap { $0 == 0 ? nil : $0 }
            case "callback_error": error = value.isEmpty ? nil : value
            case "callback_at": at = Int(value)
            default: break
            }
        }

        /// The delivery, once the fields say there is one.
        var delivery: CallbackDelivery? {
            state.map {
                CallbackDelivery(
                    state: $0, tries: tries, lastStatus: status, lastError: error,
                    finishedAt: at.map(Timestamp.init(milliseconds:)))
            }
        }
    }
}
