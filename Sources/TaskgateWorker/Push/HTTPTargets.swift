/// Which URL each task is pushed to: one per task type, and a default for the other types.
public struct HTTPTargets: Sendable, Equatable {
    /// The URL for task types without one of their own (and for untyped tasks); `nil`: such tasks fail.
    public var fallback: String?
    /// URLs by task type.
    public var byType: [String: String]

    /// Creates targets from their parts.
    public init(fallback: String? = nil, byType: [String: String] = [:]) {
        self.fallback = fallback
        self.byType = byType
    }

    /// Parses `--http-target` values: `URL` sets the default, `TYPE=URL` the URL of one task type.
    public init(specifications: [String]) throws(HTTPTargetError) {
        self.init()
        for specification in specifications {
            let text = specification.trimmingWhitespace
            if Self.isURL(text) {
                guard fallback == nil else {
                    throw HTTPTargetError(.duplicateTarget, "two default --http-target URLs: \(text)")
                }
                fallback = text
                continue
            }
            guard let equals = text.firstIndex(of: "=") else {
                throw HTTPTargetError(
                    .invalidTarget, "--http-target wants URL or TYPE=URL with an http:// or https:// URL, got \(text)")
            }
            let type = String(text[..<equals])
            let url = String(text[text.index(after: equals)...])
            guard !type.isEmpty, Self.isURL(url) else {
                throw HTTPTargetError(
                    .invalidTarget, "--http-target wants TYPE=URL with an http:// or https:// URL, got \(text)")
            }
            guard byType[type] == nil else {
                throw HTTPTargetError(.duplicateTarget, "two --http-target URLs for type \(type)")
            }
            byType[type] = url
        }
        guard fallback != nil || !byType.isEmpty else { throw HTTPTargetError(.noTarget, "no --http-target given") }
    }

    /// The URL a task of `type` goes to.
    public func url(for type: String?) -> String? {
        if let type, let url = byType[type] { return url }
        return fallback
    }

    private static func isURL(_ text: String) -> Bool {
        let lower = text.lowercased()
        return (lower.hasPrefix("http://") || lower.hasPrefix("https://")) && text.utf8.count > 8
            && !text.contains(where: { $0.isWhitespace })
    }
}
