import CHiredis

/// One blocking connection to one Redis server through hiredis: ``RedisConnection`` holds one, or one per node
/// of a Redis Cluster.
///
/// A connection is used by one thread at a time. After an I/O error ``isBroken`` is `true` and the connection
/// must be dropped, never reused: hiredis cannot tell how much of a failed write reached the server.
final class RedisNodeConnection: @unchecked Sendable {
    // @unchecked: the hiredis context is mutable C state; safety comes from single ownership (one
    // borrower at a time, enforced by the pool or by a thread that owns the connection outright).
    let context: UnsafeMutablePointer<redisContext>
    private let configuration: RedisConfiguration
    /// The server this connection reached (with Sentinel, the master the sentinels named).
    public let endpoint: RedisEndpoint
    /// The sentinels' failover count when this connection was opened (0 without Sentinel).
    private let epoch: UInt64
    /// `true` once the socket failed; the connection must then be discarded.
    public internal(set) var isBroken = false

    /// Connects, authenticates and selects the database; with Sentinel, asks the sentinels for the master first
    /// and checks with `ROLE` that the server it reached is the master.
    public init(configuration: RedisConfiguration) throws(RedisError) {
        self.configuration = configuration
        var endpoint = RedisEndpoint(host: configuration.host, port: configuration.port)
        if let sentinel = configuration.sentinel {
            endpoint = try sentinel.monitor.master(for: configuration, settings: sentinel)
        }
        self.endpoint = endpoint
        self.epoch = configuration.sentinel?.monitor.epoch ?? 0
        guard
            let context = redisConnectWithTimeout(
                endpoint.host, Int32(endpoint.port), taskgate_timeval_ms(configuration.connectTimeoutMilliseconds))
        else {
            throw RedisError(.connectionFailed, "out of memory allocating a hiredis context")
        }
        if context.pointee.err != 0 {
            let message = String(cString: taskgate_redis_errstr(context))
            redisFree(context)
            throw RedisError(.connectionFailed, "cannot connect to \(endpoint): \(message)")
        }
        self.context = context
        _ = redisEnableKeepAlive(context)
        _ = redisSetTimeout(context, taskgate_timeval_ms(configuration.commandTimeoutMilliseconds))
        do throws(RedisError) {
            if let password = configuration.password {
                if let user = configuration.username {
                    _ = try send(RedisCommand("AUTH", user, password))
                } else {
                    _ = try send(RedisCommand("AUTH", password))
                }
            }
            if configuration.database != 0 {
                _ = try send(RedisCommand("SELECT", configuration.database))
            }
            if let sentinel = configuration.sentinel {
                let role = try send(RedisCommand("ROLE")).array?.first?.string
                guard role == "master" else {
                    sentinel.monitor.masterChanged()
                    throw RedisError(
                        .connectionFailed,
                        "\(endpoint) answers ROLE \(role ?? "?"), not master, for \(sentinel.masterName) (failover under way)"
                    )
                }
            }
        } catch {
            throw RedisError(
                .connectionFailed, "handshake with \(configuration.redactedDescription) failed: \(error.message)")
        }
    }

    deinit {
        redisFree(context)
    }

    /// `true` when the connection must not be used again: its socket failed, or (with Sentinel) a failover
    /// happened since it was opened, so the server it reached may be a replica now.
    public var isStale: Bool {
        isBroken || (configuration.sentinel.map { $0.monitor.epoch != epoch } ?? false)
    }

    /// Sends one command and waits for its reply; error replies are thrown as ``RedisError/Code/server``.
    func send(_ command: RedisCommand) throws(RedisError) -> RedisValue {
        let value = try pipeline([command])[0]
        if case .error(let message) = value { throw RedisError(.server, message) }
        return value
    }

    /// Sends a blocking command (BLMOVE, BLPOP, ...) whose server-side wait may last `blockMilliseconds`.
    public func sendBlocking(_ command: RedisCommand, blockMilliseconds: Int) throws(RedisError) -> RedisValue {
        _ = redisSetTimeout(
            context, taskgate_timeval_ms(blockMilliseconds + configuration.commandTimeoutMilliseconds))
        defer {
            if !isBroken {
                _ = redisSetTimeout(context, taskgate_timeval_ms(configuration.commandTimeoutMilliseconds))
            }
        }
        return try send(command)
    }

    /// Writes all commands in one go and reads their replies in order (error replies are returned, not thrown).
    public func pipeline(_ commands: [RedisCommand]) throws(RedisError) -> [RedisValue] {
        guard !isBroken else { throw RedisError(.io, "connection is broken") }
        // Laid out here in one buffer and handed over once: hiredis formats each command through its printf-like
        // sdscatfmt and grows its output buffer by copying, which cost the enqueuer's writer more than the
        // commands themselves once a round held a command per task.
        var wire: [UInt8] = []
        wire.reserveCapacity(commands.reduce(0) { $0 + $1.encodedSizeEstimate })
        for command in commands { command.appendRESP(to: &wire) }
        let status = wire.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                redisAppendFormattedCommand(context, $0, buffer.count)
            }
        }
        if status != REDIS_OK { throw ioFailure("queueing \(commands.count) commands") }
        var replies: [RedisValue] = []
        replies.reserveCapacity(commands.count)
        for _ in commands {
            var raw: UnsafeMutableRawPointer?
            if redisGetReply(context, &raw) != REDIS_OK || raw == nil {
                throw ioFailure("reading a reply")
            }
            let reply = raw!.assumingMemoryBound(to: redisReply.self)
            replies.append(Self.decode(reply))
            freeReplyObject(raw)
        }
        if let refusal = replies.lazy.compactMap(Self.unavailability).first {
            // The server is a replica now (a failover), still loading, or cut off from its master: drop the
            // connection, so the next one asks again where the master is, and let the caller retry.
            isBroken = true
            if refusal.hasPrefix("READONLY") { configuration.sentinel?.monitor.masterChanged() }
            throw RedisError(.io, "\(endpoint) cannot take this now: \(refusal)")
        }
        return replies
    }

    /// The message of an error reply that says the server cannot serve writes now, not that the command is wrong.
    static func unavailability(_ value: RedisValue) -> String? {
        guard case .error(let message) = value else { return nil }
        for prefix in ["READONLY", "LOADING", "MASTERDOWN"] where message.hasPrefix(prefix) { return message }
        return nil
    }

    private func append(_ command: RedisCommand) throws(RedisError) {
        let status = command.withArgv { count, argv, argvlen in
            redisAppendCommandArgv(context, count, argv, argvlen)
        }
        if status != REDIS_OK { throw ioFailure("queueing \(command.name)") }
    }

    func ioFailure(_ doing: String) -> RedisError {
        isBroken = true
        let detail = context.pointee.err != 0 ? String(cString: taskgate_redis_errstr(context)) : "no reply"
        return RedisError(.io, "\(doing) on \(endpoint): \(detail)")
    }

    static func decode(_ reply: UnsafeMutablePointer<redisReply>) -> RedisValue {
        let r = reply.pointee
        switch r.type {
        case REDIS_REPLY_STRING:
            return .bulk(bytes(r.str, r.len))
        case REDIS_REPLY_STATUS:
            return .status(String(decoding: bytes(r.str, r.len), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            return .error(String(decoding: bytes(r.str, r.len), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            return .integer(Int(r.integer))
        case REDIS_REPLY_ARRAY:
            var values: [RedisValue] = []
            values.reserveCapacity(r.elements)
            for index in 0..<r.elements {
                if let element = r.element[index] { values.append(decode(element)) } else { values.append(.null) }
            }
            return .array(values)
        default:
            return .null
        }
    }

    private static func bytes(_ pointer: UnsafeMutablePointer<CChar>?, _ count: Int) -> [UInt8] {
        guard let pointer, count > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}
