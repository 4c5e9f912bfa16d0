/// One reply from Redis, decoded from RESP2 into Swift values.
public enum RedisValue: Sendable, Equatable {
    /// A status reply such as `OK` or `PONG`.
    case status(String)
    /// An error reply; ``RedisConnection/send(_:)`` turns these into ``RedisError`` instead of returning them.
    case error(String)
    /// An integer reply.
    case integer(Int)
    /// A bulk string, binary-safe.
    case bulk([UInt8])
    /// The nil bulk or nil array.
    case null
    /// A multi-bulk reply.
    case array([RedisValue])

    /// The value as text, when it is a bulk string or a status.
    public var string: String? {
        switch self {
        case .bulk(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .status(let text): return text
        case .integer(let value): return String(value)
        default: return nil
        }
    }

    /// The value as an integer, when it is an integer reply or a bulk string holding one.
    public var int: Int? {
        switch self {
        case .integer(let value): return value
        case .bulk: return string.flatMap { Int($0) }
        default: return nil
        }
    }

    /// The elements of an array reply; `nil` for anything else.
    public var array: [RedisValue]? {
        if case .array(let values) = self { return values }
        return nil
    }

    /// `true` for an error reply.
    public var isError: Bool {
        if case .error = self { return true }
        return false
    }

    /// `true` for a nil reply.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}
