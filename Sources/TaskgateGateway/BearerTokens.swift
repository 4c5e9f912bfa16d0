/// The API tokens a gateway accepts in `Authorization: Bearer <token>`, compared in constant time, each with
/// the scopes it grants.
public struct BearerTokens: Sendable {
    private let tokens: [(secret: [UInt8], scopes: AccessScopes)]

    /// The fewest characters a token may have (`taskgate token` makes 64).
    public static let minimumLength = 16

    /// Creates the set from token entries, numbered from 1 in errors; blank entries are ignored. `nil` when none
    /// is left (access is open).
    ///
    /// An entry `scope[,scope]:TOKEN` whose part before the first colon names only known scopes (`submit`, `read`,
    /// `worker`, `admin`) grants those (`admin` grants everything); an entry with no such prefix is a bare token
    /// and grants submit, read and worker, not admin (``AccessScopes/all``). Refused, with the entry's number and
    /// never its secret: a scope prefix with nothing after it (`admin:`), a prefix of lowercase words that are not
    /// scopes (`amdin:...`), a scope name alone, a token shorter than ``minimumLength``, and a token with spaces or
    /// control characters (it could never be sent in `Authorization`).
    public init?(_ entries: [String]) throws(BearerTokenError) {
        try self.init(numbered: entries.enumerated().map { ($0.offset + 1, $0.element) })
    }

    /// Reads tokens from a comma-separated list (`TASKGATE_API_TOKENS`); errors number the entries from 1.
    public init?(commaSeparated list: String) throws(BearerTokenError) {
        try self.init(list.split(separator: ",", omittingEmptySubsequences: false).map(String.init))
    }

    /// Reads tokens from the text of a token file: one per line; blank lines and `#` comments are skipped;
    /// errors name the line.
    public init?(fileContents: String) throws(BearerTokenError) {
        let lines = fileContents.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
        let numbered = lines.enumerated().map { ($0.offset + 1, $0.element) }
        try self.init(numbered: numbered.filter { !$0.1.trimmingCharacters(in: " \t").hasPrefix("#") })
    }

    private init?(numbered entries: [(Int, String)]) throws(BearerTokenError) {
        var parsed: [(secret: [UInt8], scopes: AccessScopes)] = []
        for (line, raw) in entries {
            let entry = raw.trimmingCharacters(in: " \t\r\n")
            guard !entry.isEmpty else { continue }
            parsed.append(try Self.parse(entry, line: line))
        }
        guard !parsed.isEmpty else { return nil }
        self.tokens = parsed
    }

    /// One entry's secret and scopes, or why it is refused.
    private static func parse(_ entry: String, line: Int) throws(BearerTokenError) -> (
        secret: [UInt8], scopes: AccessScopes
    ) {
        if AccessScopes.isScopeName(entry) { throw BearerTokenError(line: line, reason: .scopeWithoutToken) }
        var secret = Substring(entry)
        var scopes = AccessScopes.all
        if let colon = entry.firstIndex(of: ":") {
            let prefix = entry[..<colon]
            if let named = AccessScopes(names: prefix) {
                scopes = named
                secret = entry[entry.index(after: colon)...]
                if secret.isEmpty { throw BearerTokenError(line: line, reason: .scopeWithoutToken) }
            } else if prefix.allSatisfy({ ("a"..."z").contains($0) || $0 == "," || $0 == "+" }) {
                throw BearerTokenError(line: line, reason: .unknownScope(String(prefix)))
            }
        }
        let bytes = Array(secret.utf8)
        guard bytes.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw BearerTokenError(line: line, reason: .invalidCharacter)
        }
        guard bytes.count >= minimumLength else { throw BearerTokenError(line: line, reason: .tooShort) }
        return (bytes, scopes)
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
