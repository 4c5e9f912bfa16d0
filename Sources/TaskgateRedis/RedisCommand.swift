/// A Redis command as a value: its name and binary-safe arguments, ready for any connection to send.
public struct RedisCommand: Sendable, Equatable {
    /// The command name followed by its arguments, each as raw bytes.
    public var arguments: [[UInt8]]

    /// Creates a command from a name and arguments.
    public init(_ name: String, _ arguments: [any RedisArgument] = []) {
        self.arguments = [Array(name.utf8)] + arguments.map { $0.redisBytes }
    }

    /// Creates a command from a name and arguments.
    public init(_ name: String, _ arguments: any RedisArgument...) {
        self.init(name, arguments)
    }

    /// The command name, for logs and errors.
    public var name: String { String(decoding: arguments.first ?? [], as: UTF8.self) }
}

/// A value that can be sent as one Redis argument.
public protocol RedisArgument: Sendable {
    /// The bytes Redis receives for this argument.
    var redisBytes: [UInt8] { get }
}

extension String: RedisArgument {
    public var redisBytes: [UInt8] { Array(utf8) }
}

extension Substring: RedisArgument {
    public var redisBytes: [UInt8] { Array(utf8) }
}

extension Int: RedisArgument {
    public var redisBytes: [UInt8] { Array(String(self).utf8) }
}

extension Double: RedisArgument {
    public var redisBytes: [UInt8] { Array(String(self).utf8) }
}

extension Array: RedisArgument where Element == UInt8 {
    public var redisBytes: [UInt8] { self }
}
