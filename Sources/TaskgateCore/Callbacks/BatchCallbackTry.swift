/// One try at delivering a batch's completion webhook, held under a lease until its outcome is recorded.
public struct BatchCallbackTry: Sendable {
    /// The complete batch whose record is delivered.
    public let record: BatchRecord
    /// The try's number (1 for the first); also its token: only this try can record its outcome.
    public let number: Int
    /// The batch's id.
    public var id: String { record.id }
}
