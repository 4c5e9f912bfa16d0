/// Why an API token entry was refused: the entry's number (its line in a token file), never its secret.
public struct BearerTokenError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong with an entry.
    public enum Reason: Sendable, Equatable {
        /// `admin:` or `admin` alone: a scope with no token after it.
        case scopeWithoutToken
        /// `amdin:...`: lowercase words before the colon that are not scopes.
        case unknownScope(String)
        /// Fewer than ``BearerTokens/minimumLength`` characters.
        case tooShort
        /// A space or control character, or a byte outside printable ASCII.
        case invalidCharacter
    }

    /// The entry's number from 1: its line in a token file, its place in `TASKGATE_API_TOKENS`.
    public let line: Int
    /// What is wrong.
    public let reason: Reason

    /// Creates the error.
    public init(line: Int, reason: Reason) {
        self.line = line
        self.reason = reason
    }

    /// A stable code for the reason.
    public var code: String {
        switch reason {
        case .scopeWithoutToken: "scope-without-token"
        case .unknownScope: "unknown-scope"
        case .tooShort: "token-too-short"
        case .invalidCharacter: "token-invalid-character"
        }
    }

    public var description: String {
        switch reason {
        case .scopeWithoutToken:
            "line \(line): a scope with no token after it (write scope:TOKEN, e.g. admin:$(taskgate token))"
        case .unknownScope(let prefix):
            "line \(line): '\(prefix)' is not a scope (submit, read, worker, admin)"
        case .tooShort:
            "line \(line): the token is shorter than \(BearerTokens.minimumLength) characters (`taskgate token` makes one of 64)"
        case .invalidCharacter:
            "line \(line): the token holds a space, a control character or a byte outside printable ASCII"
        }
    }
}
