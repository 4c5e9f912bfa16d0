/// The API tokens a gateway accepts in `Authorization: Bearer <token>`, compared in constant time, each with
/// the scopes it grants.
public struct BearerTokens: Sendable {
    private let tokens: [(secret: [UInt8], scopes: AccessScopes)]

    /// Creates the set from token entries; blank entries are ignored. `nil` when no token is left (access is open).
    ///
    /// An entry `scope[,scope]:TOKEN` whose part before the first colon names only known scopes (`submit`, `read`,
    /// `worker`, `admin`) grants those (`admin` grants everything); any other entry is a bare token and grants
    /// what tokens did before scopes existed: submit, read and worker, not admin (``AccessScopes/all``).
    public init?(_ tokens: [String]) {
        let kept = tokens.map { $0.trimmingCharacters(in: " \t\r\n") }.filter { !$0.isEmpty }
        let parsed = kept.map { entry -> (secret: [UInt8], scopes: AccessScopes) in
            if let colon = entry.firstIndex(of: ":"), let scopes = AccessScopes(names: entry[..<colon]) {
                let secret = String(entry[entry.index(after: colon)...])
                if !secret.isEmpty { return (Array(secret.utf8), scopes) }
            }
            return (Array(entry.utf8), .all)
        }
        guard !parsed.isEmpty else { return nil }
        self.tokens = parsed
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
    public func accepts(authorization: String?) -> Bool {
        scopes(authorization: authorization) != nil
    }

    /// The scopes of the token in `authorization` (`Bearer <token>`); `nil` when it is none of the tokens.
    ///
    /// Every token is compared over every byte whatever matched before, so the time taken does not tell an
    /// attacker how much of a guess was right (only the number of tokens and the guess's own length).
    public func scopes(authorization: String?) -> AccessScopes? {
        guard let authorization else { return nil }
        let bytes = Array(authorization.utf8)
        let scheme = Array("bearer ".utf8)
        guard bytes.count > scheme.count,
            zip(bytes, scheme).allSatisfy({ ($0 | 0x20) == $1 })
        else { return nil }
        var candidate = bytes[scheme.count...].drop { $0 == UInt8(ascii: " ") }.map { $0 }
        while candidate.last == UInt8(ascii: " ") { candidate.removeLast() }
        var matched: UInt8 = 0
        var granted: UInt8 = 0
        for token in tokens {
            let equal = Self.constantTimeEqual(token.secret, candidate)
            matched |= equal
            // 0xff when equal, 0 otherwise: no branch on the secret.
            granted |= token.scopes.rawValue & (0 &- equal)
        }
        return matched == 1 ? AccessScopes(rawValue: granted) : nil
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
