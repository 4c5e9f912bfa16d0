/// What an API token may do.
///
/// A token file line `worker:TOKEN` (or `submit,read:TOKEN`) grants the named scopes only; a bare `TOKEN` line
/// grants what tokens did before scopes existed: submit, read and worker, not admin. `admin` grants everything.
public struct AccessScopes: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt8

    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    /// `POST /tasks`.
    public static let submit = AccessScopes(rawValue: 1 << 0)
    /// Every `GET` and `HEAD`.
    public static let read = AccessScopes(rawValue: 1 << 1)
    /// The pull API: claim, heartbeat, complete, fail.
    public static let worker = AccessScopes(rawValue: 1 << 2)
    /// The operator's changes: pause, resume, limits, requeue, cancel, delete.
    public static let admin = AccessScopes(rawValue: 1 << 3)
    /// What a bare token grants, as before scopes existed: submit, read and worker.
    public static let all: AccessScopes = [.submit, .read, .worker]
    /// What the `admin` scope grants: everything.
    public static let everything: AccessScopes = [.submit, .read, .worker, .admin]

    /// The scope names as written in a token file.
    static let names: [(String, AccessScopes)] = [
        ("submit", .submit), ("read", .read), ("worker", .worker), ("admin", .everything),
    ]

    /// Parses `worker`, `submit,read` or `submit+read` (the form for `TASKGATE_API_TOKENS`, whose entries are
    /// separated by commas); `nil` when a name is unknown.
    init?(names text: Substring) {
        self = []
        for name in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "," || $0 == "+" }) {
            guard let scope = Self.names.first(where: { $0.0 == name })?.1 else { return nil }
            insert(scope)
        }
        guard !isEmpty else { return nil }
    }

    /// `true` when `entry` is a scope name alone: a token entry cut in two by a comma-separated list
    /// (`submit,read:TOKEN` in `TASKGATE_API_TOKENS`), never meant as a token that grants everything.
    public static func isScopeName(_ entry: String) -> Bool {
        names.contains { $0.0 == entry }
    }

    /// `true` when `text` is a list of scope names (`submit,read`, `submit+read`).
    public static func isScopeList(_ text: String) -> Bool {
        AccessScopes(names: Substring(text)) != nil
    }

    /// The scope names, comma-separated (`submit,read`).
    public var description: String {
        if contains(.admin) { return "admin" }
        return Self.names.filter { contains($0.1) }.map(\.0).joined(separator: ",")
    }
}
