/// A Redis command as a value: its name and binary-safe arguments, ready for any connection to send.
///
/// The arguments are laid out back to back in one buffer (with their lengths beside it), the shape hiredis
/// takes, so a command of any size costs two allocations and no copy when it is sent.
public struct RedisCommand: Sendable, Equatable {
    /// The command name followed by its arguments, back to back.
    private(set) var bytes: [UInt8]
    /// The length of each argument in ``bytes``, the name first.
    private(set) var lengths: [Int]
    /// Whether a Redis Cluster client may follow an `ASK` redirection for this command to the node importing
    /// its slot. Not for a script that derives keys from its arguments: there a key not yet moved reads as
    /// missing (see ``RedisScript/derivesKeys``).
    public var followsAsk = true

    /// Creates a command from a name and arguments.
    public init(_ name: String, _ arguments: [any RedisArgument] = []) {
        bytes = []
        bytes.reserveCapacity(64 + 16 * arguments.count)
        lengths = []
        lengths.reserveCapacity(1 + arguments.count)
        append(name)
        for argument in arguments { append(argument) }
    }

    /// Creates a command from a name and arguments.
    public init(_ name: String, _ arguments: any RedisArgument...) {
        self.init(name, arguments)
    }

    /// The command name followed by its arguments, each as raw bytes.
    public var arguments: [[UInt8]] {
        var start = 0
        return lengths.map { length in
            defer { start += length }
            return Array(bytes[start..<start + length])
        }
    }

    /// The command name, for logs and errors.
    public var name: String { String(decoding: bytes.prefix(lengths.first ?? 0), as: UTF8.self) }

    /// The bytes of argument `index` (0 is the name), or nil past the end.
    func argument(_ index: Int) -> ArraySlice<UInt8>? {
        guard index < lengths.count else { return nil }
        let start = lengths[..<index].reduce(0, +)
        return bytes[start..<start + lengths[index]]
    }

    /// The key that decides which Redis Cluster node serves this command (the channel of a sharded pub/sub
    /// command), or nil for a command that names none (`PING`, `WAIT`, `MULTI`, a script without keys).
    public var routingKey: ArraySlice<UInt8>? {
        switch name.uppercased() {
        case "EVALSHA", "EVAL", "EVALSHA_RO", "EVAL_RO", "FCALL", "FCALL_RO":
            guard let text = argument(2), let count = Int(String(decoding: text, as: UTF8.self)), count > 0 else {
                return nil
            }
            return argument(3)
        case "PUBSUB", "MEMORY", "OBJECT":
            // PUBSUB SHARDNUMSUB channel, MEMORY USAGE key, OBJECT ENCODING key
            let sub = argument(1).map { String(decoding: $0, as: UTF8.self).uppercased() }
            return ["SHARDNUMSUB", "USAGE", "ENCODING", "FREQ", "IDLETIME", "REFCOUNT"].contains(sub)
                ? argument(2) : nil
        case "PING", "INFO", "CONFIG", "ROLE", "SCRIPT", "WAIT", "CLUSTER", "SELECT", "AUTH", "HELLO", "CLIENT",
            "TIME", "MULTI", "EXEC", "DISCARD", "ASKING", "READONLY", "READWRITE", "SUBSCRIBE", "UNSUBSCRIBE",
            "PSUBSCRIBE", "PUNSUBSCRIBE", "PUBLISH", "SENTINEL", "DBSIZE", "SCAN", "KEYS", "ECHO", "QUIT",
            "COMMAND", "FLUSHDB", "FLUSHALL", "SAVE", "BGSAVE", "LASTSAVE":
            return nil
        default:
            return argument(1)
        }
    }

    /// The Redis Cluster slot of ``routingKey``, or nil.
    public var slot: Int? {
        routingKey.map { RedisKeySlot.slot(of: Array($0)) }
    }

    /// Appends arguments.
    public mutating func append(contentsOf arguments: [any RedisArgument]) {
        for argument in arguments { append(argument) }
    }

    /// Appends string arguments.
    public mutating func append(contentsOf arguments: [String]) {
        for argument in arguments { append(argument) }
    }

    /// Appends one argument.
    public mutating func append<Argument: RedisArgument>(_ argument: Argument) {
        let before = bytes.count
        argument.appendRedisBytes(to: &bytes)
        lengths.append(bytes.count - before)
    }

    private mutating func append(_ argument: any RedisArgument) {
        let before = bytes.count
        argument.appendRedisBytes(to: &bytes)
        lengths.append(bytes.count - before)
    }

    /// About the bytes ``appendRESP(to:)`` appends (a capacity hint).
    var encodedSizeEstimate: Int { bytes.count + 16 + 16 * lengths.count }

    /// Appends the command as RESP, the form Redis reads: `*<count>` then `$<length>` and the bytes of each
    /// argument, each line ending in CRLF.
    func appendRESP(to wire: inout [UInt8]) {
        func line(_ marker: UInt8, _ value: Int) {
            wire.append(marker)
            var divisor = 1
            while divisor <= value / 10 { divisor *= 10 }
            var rest = value
            repeat {
                wire.append(UInt8(ascii: "0") + UInt8(rest / divisor))
                rest %= divisor
                divisor /= 10
            } while divisor > 0
            wire.append(13)
            wire.append(10)
        }
        line(UInt8(ascii: "*"), lengths.count)
        var start = 0
        bytes.withUnsafeBufferPointer { all in
            for length in lengths {
                line(UInt8(ascii: "$"), length)
                wire.append(contentsOf: UnsafeBufferPointer(rebasing: all[start..<start + length]))
                wire.append(13)
                wire.append(10)
                start += length
            }
        }
    }

    /// Calls `body` with hiredis' view of the command: argument count, pointers and lengths.
    func withArgv<T>(
        _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> T
    ) -> T {
        // hiredis needs a non-NULL pointer even for an empty argument; one past the end of a non-empty buffer
        // is one (never read, since the length is 0).
        let spare: StaticString = ""
        return bytes.withUnsafeBufferPointer { buffer in
            let start = buffer.baseAddress.map(UnsafeRawPointer.init) ?? UnsafeRawPointer(spare.utf8Start)
            let base = start.assumingMemoryBound(to: CChar.self)
            return withUnsafeTemporaryAllocation(of: UnsafePointer<CChar>?.self, capacity: lengths.count) { argv in
                var offset = 0
                for (index, length) in lengths.enumerated() {
                    argv[index] = base + offset
                    offset += length
                }
                return lengths.withUnsafeBufferPointer { argvlen in
                    body(Int32(lengths.count), argv.baseAddress!, argvlen.baseAddress!)
                }
            }
        }
    }
}

/// A value that can be sent as one Redis argument.
public protocol RedisArgument: Sendable {
    /// The bytes Redis receives for this argument.
    var redisBytes: [UInt8] { get }
    /// Appends ``redisBytes`` to `buffer` (override to skip the intermediate array).
    func appendRedisBytes(to buffer: inout [UInt8])
}

extension RedisArgument {
    public func appendRedisBytes(to buffer: inout [UInt8]) {
        buffer.append(contentsOf: redisBytes)
    }
}

extension String: RedisArgument {
    public var redisBytes: [UInt8] { Array(utf8) }

    public func appendRedisBytes(to buffer: inout [UInt8]) {
        buffer.append(contentsOf: utf8)
    }
}

extension Substring: RedisArgument {
    public var redisBytes: [UInt8] { Array(utf8) }

    public func appendRedisBytes(to buffer: inout [UInt8]) {
        buffer.append(contentsOf: utf8)
    }
}

extension Int: RedisArgument {
    public var redisBytes: [UInt8] {
        var bytes: [UInt8] = []
        appendRedisBytes(to: &bytes)
        return bytes
    }

    public func appendRedisBytes(to buffer: inout [UInt8]) {
        if self == 0 {
            buffer.append(UInt8(ascii: "0"))
            return
        }
        if self < 0 { buffer.append(UInt8(ascii: "-")) }
        var magnitude = self.magnitude
        let start = buffer.count
        while magnitude > 0 {
            buffer.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        }
        buffer[start...].reverse()
    }
}

extension Double: RedisArgument {
    public var redisBytes: [UInt8] { Array(String(self).utf8) }
}

extension Array: RedisArgument where Element == UInt8 {
    public var redisBytes: [UInt8] { self }

    public func appendRedisBytes(to buffer: inout [UInt8]) {
        buffer.append(contentsOf: self)
    }
}
