/// What a Redis server's settings promise about the writes it acknowledged: whether it may evict keys under memory
/// pressure (`maxmemory-policy`) and whether it keeps them across a restart (`appendonly`, `save`).
///
/// Taskgate's records and lists are its only copy of an accepted task, so a server that evicts keys
/// (`allkeys-lru` and the like) can silently drop accepted tasks, and one that persists nothing loses them all in a
/// restart. Read at start by the gateway and the workers (and by every `GET /readyz`); cost: three `CONFIG GET`s
/// in one round trip.
public struct RedisDurability: Sendable, Equatable {
    /// The settings as read, or why they could not be.
    public enum Settings: Sendable, Equatable {
        /// The settings the server reported.
        case read(maxmemoryPolicy: String, appendOnly: Bool, save: String)
        /// The server refused `CONFIG GET` (managed services often do), with its answer.
        case unreadable(String)
    }

    /// The settings, or why they could not be read.
    public let settings: Settings

    /// Wraps settings read elsewhere (tests, or a server's answers parsed by ``init(replies:)``).
    public init(settings: Settings) {
        self.settings = settings
    }

    /// Parses the replies of `CONFIG GET maxmemory-policy`, `CONFIG GET appendonly` and `CONFIG GET save`, in that
    /// order; an error reply or an unexpected shape makes the settings unreadable.
    public init(replies: [RedisValue]) {
        func value(_ reply: RedisValue, _ name: String) -> Result<String, RedisDurabilityProblem> {
            if case .error(let message) = reply { return .failure(RedisDurabilityProblem(message)) }
            guard let pair = reply.array, pair.count == 2, let found = pair[1].string else {
                return .failure(RedisDurabilityProblem("CONFIG GET \(name) answered \(reply)"))
            }
            return .success(found)
        }
        guard replies.count == 3 else {
            settings = .unreadable("expected 3 replies to CONFIG GET, got \(replies.count)")
            return
        }
        switch (
            value(replies[0], "maxmemory-policy"), value(replies[1], "appendonly"), value(replies[2], "save")
        ) {
        case (.success(let policy), .success(let appendOnly), .success(let save)):
            settings = .read(maxmemoryPolicy: policy, appendOnly: appendOnly == "yes", save: save)
        case (.failure(let problem), _, _), (_, .failure(let problem), _), (_, _, .failure(let problem)):
            settings = .unreadable(problem.message)
        }
    }

    /// The three commands ``init(replies:)`` reads.
    public static let commands = [
        RedisCommand("CONFIG", "GET", "maxmemory-policy"), RedisCommand("CONFIG", "GET", "appendonly"),
        RedisCommand("CONFIG", "GET", "save"),
    ]

    /// Reads the settings in one round trip; a refused `CONFIG GET` gives ``Settings/unreadable(_:)``, a broken
    /// connection throws.
    public static func read(on connection: RedisConnection) throws(RedisError) -> RedisDurability {
        RedisDurability(replies: try connection.pipeline(commands))
    }

    /// `true` when the settings were read, keys are never evicted (`noeviction`) and writes are persisted (the
    /// append-only file, or RDB snapshots).
    public var isDurable: Bool { warnings.isEmpty && !isUnreadable }

    /// `true` when the server would not say.
    public var isUnreadable: Bool {
        if case .unreadable = settings { return true }
        return false
    }

    /// Whether writes survive a restart at all: the append-only file is on, or RDB snapshots have save rules.
    /// `nil` when unreadable.
    public var persists: Bool? {
        guard case .read(_, let appendOnly, let save) = settings else { return nil }
        return appendOnly || !save.isEmpty
    }

    /// What is wrong, one sentence each; empty when the settings keep every acknowledged write, or are unreadable.
    public var warnings: [String] {
        guard case .read(let policy, let appendOnly, let save) = settings else { return [] }
        var warnings: [String] = []
        if policy != "noeviction" {
            warnings.append(
                "Redis maxmemory-policy is \(policy): under memory pressure it may evict task records and pending "
                    + "lists, losing accepted tasks without a word; set maxmemory-policy noeviction")
        }
        if !appendOnly && save.isEmpty {
            warnings.append(
                "Redis persists nothing (appendonly no, no save rules): a restart loses every task; set appendonly yes")
        } else if !appendOnly {
            warnings.append(
                "Redis persists by RDB snapshots only (save \(save)): a crash loses the tasks accepted since the last "
                    + "snapshot; set appendonly yes")
        }
        return warnings
    }
}

/// Why durability settings could not be read.
struct RedisDurabilityProblem: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
