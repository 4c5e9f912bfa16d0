/// The API tokens a gateway accepts in `Authorization: Bearer <token>`, compared in constant time.
public struct BearerTokens: Sendable {
    private let tokens: [[UInt8]]

    /// Creates the set from tokens; blank entries are ignored. `nil` when no token is left (access is open).
    public init?(_ tokens: [String]) {
        let kept = tokens.map { $0.trimmingCharacters(in: " \t\r\n") }.filter { !$0.isEmpty }
        guard !kept.isEmpty else { return nil }
        self.tokens = kept.map { Array($0.utf8) }
    }

    /// Reads tokens from a comma-separated list (`TASKGATE_API_TOKENS`).
    public init?(commaSeparated list: String) {
        self.init(list.split(separator: ",").map(String.init))
    }

    /// Reads tokens from the text of a token file: one per line; blank lines and `#` comments are skipped.
    public init?(fileContents: String) {
        let lines = fileContents.split(whereSeparator: \.isNewline).map(String.init)
        self.init(lines.filter { !$0.trimmingCharacters(in: " \t").hasPrefix("#") })
    }

    /// How many tokens are accepted.
    public var count: Int { tokens.count }

    /// `true` when `authorization` is `Bearer <token>` for one of the tokens.
    ///
    /// Every token is compared over every byte whatever matched before, so the time taken does not tell an
    /// attacker how much of a guess was right (only the number of tokens and the guess's own length).
    public func accepts(authorization: String?) -> Bool {
        guard let authorization else { return false }
        let bytes = Array(authorization.utf8)
        let scheme = Array("bearer ".utf8)
        guard bytes.count > scheme.count,
            zip(bytes, scheme).allSatisfy({ ($0 | 0x20) == $1 })
        else { return false }
        var candidate = bytes[scheme.count...].drop { $0 == UInt8(ascii: " ") }.map { $0 }
        while candidate.last == UInt8(ascii: " ") { candidate.removeLast() }
        var matched: UInt8 = 0
        for token in tokens {
            matched |= Self.constantTimeEqual(token, candidate)
        }
        return matched == 1
    }

    /// 1 when equal, else 0, after looking at every byte of `secret`.
    private static func constantTimeEqual(_ secret: [UInt8], _ guess: [UInt8]) -> UInt8 {
        var difference: UInt8 = secret.count == guess.count ? 0 : 1
        for index in secret.indices {
            let other = index < guess.count ? guess[index] : ~secret[index]
            difference |= secret[index] ^ other
        }
        return difference == 0 ? 1 : 0
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        let skip = Set(set.unicodeScalars)
        var scalars = Substring(self).unicodeScalars
        while let first = scalars.first, skip.contains(first) { scalars = scalars.dropFirst() }
        while let last = scalars.last, skip.contains(last) { scalars = scalars.dropLast() }
        return String(String.UnicodeScalarView(scalars))
    }
}
