/// A client's `Idempotency-Key`: 1 to 255 visible ASCII characters (`!` to `~`).
///
/// The key becomes part of a Redis key name after the queue's hash tag, so it can never move a key to another
/// queue's slot or collide with another kind of key (those have no `idempotency:` part).
public struct IdempotencyKey: Sendable, Hashable, CustomStringConvertible {
    /// The key as the client sent it.
    public let rawValue: String

    /// Validates a key; `nil` when it is empty, longer than 255 bytes or holds a space, control or non-ASCII byte.
    public init?(_ text: String) {
        let bytes = text.utf8
        guard (1...255).contains(bytes.count), bytes.allSatisfy({ (0x21...0x7E).contains($0) }) else { return nil }
        rawValue = text
    }

    public var description: String { rawValue }
}
