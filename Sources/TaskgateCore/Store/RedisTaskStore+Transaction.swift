import TaskgateRedis

extension RedisTaskStore {
    /// Whether the enqueue transaction can store `request`: it has no idempotency key, no delay and no schedule,
    /// so nothing needs reading before it is written (its id is new and random).
    static func isPlain(_ request: EnqueueRequest) -> Bool {
        request.keys.count == 1 && request.submission.delayMilliseconds == 0 && request.submission.origin == nil
    }

    /// The enqueue transaction of plain `requests` (see ``isPlain(_:)``) of one queue, stamped `now` (Redis'
    /// clock, ms): per task the `HSET` the enqueue script would make, one `LPUSH` of the ids in their order, `TIME`
    /// (which keeps the caller's ``RedisClock`` current) and ``TaskScripts/announceCreated``, which publishes the
    /// `created` events when anyone listens. A round sent again runs the enqueue script over the same requests
    /// instead, which writes nothing for an id that exists, so a task stored by the first send is stored once.
    ///
    /// Native commands cost Redis about half of what the script costs per task (its Lua conversions of every
    /// argument); this is the path of almost every `POST /tasks`.
    func enqueueTransaction(_ requests: [EnqueueRequest], now: Int) -> RedisTransaction {
        let queue = requests.first?.id.queue ?? .default
        var commands: [RedisCommand] = []
        commands.reserveCapacity(requests.count + 2)
        var push = RedisCommand("LPUSH", keys.pending(queue))
        var announced: [UInt8] = []
        announced.reserveCapacity(requests.count * 48)
        for request in requests {
            precondition(
                request.id.queue == queue && Self.isPlain(request), "one transaction is for plain tasks of one queue")
            let submission = request.submission
            let type = submission.type ?? ""
            var hset = RedisCommand("HSET", request.keys[0])
            hset.append("id")
            hset.append(request.id.rawValue)
            hset.append("type")
            hset.append(type)
            hset.append("payload")
            hset.append(request.payload)
            hset.append("state")
            hset.append("pending")
            hset.append("max_retries")
            hset.append(submission.maxRetries)
            hset.append("created_at")
            hset.append(now)
            hset.append("seq")
            hset.append(1)
            // As the script: fields that would only repeat a default are left out (see TaskScripts.enqueue).
            if let timeout = submission.timeoutMilliseconds {
                hset.append("timeout")
                hset.append(timeout)
            }
            if let callback = submission.callbackURL {
                hset.append("callback")
                hset.append(callback)
            }
            commands.append(hset)
            push.append(request.id.rawValue)
            announced.append(contentsOf: request.id.rawValue.utf8)
            announced.append(UInt8(ascii: " "))
            announced.append(contentsOf: type.utf8)
            announced.append(UInt8(ascii: "\n"))
        }
        var announce = RedisCommand("EVALSHA", TaskScripts.announceCreated.sha, 0, keys.events(queue), now)
        announce.append(announced)
        commands.append(push)
        commands.append(RedisCommand("TIME"))
        return RedisTransaction(
            commands, closing: RedisScriptCall(TaskScripts.announceCreated, command: announce),
            resend: {
                let call = enqueueCall(requests)
                return RedisScriptCall(TaskScripts.enqueue, keys: call.keys, arguments: call.arguments)
            })
    }

    /// The outcome of each of `requests` from their ``enqueueTransaction(_:now:)``'s reply, and the Redis time
    /// (ms) its `TIME` read, when it ran.
    func enqueueOutcomes(
        _ reply: Result<RedisTransactionReply, RedisError>, for requests: [EnqueueRequest], now: Int
    ) -> (outcomes: [Result<EnqueueOutcome, TaskStoreError>], redisTime: Int?) {
        switch reply {
        case .failure(let error):
            return (requests.map { _ in .failure(TaskStoreError(error)) }, nil)
        case .success(.resent(let value)):
            return (
                requests.indices.map { index in
                    Result { () throws(TaskStoreError) in try enqueueOutcome(value, index: index, for: requests[index])
                    }
                }, nil
            )
        case .success(.committed(let values)):
            // HSET per task, LPUSH, TIME, the announcement.
            guard values.count == requests.count + 3 else {
                let error = TaskStoreError(.corrupt, "unexpected enqueue transaction reply")
                return (requests.map { _ in .failure(error) }, nil)
            }
            var redisTime: Int?
            if let time = values[requests.count + 1].array, time.count == 2, let seconds = time[0].int,
                let microseconds = time[1].int
            {
                redisTime = seconds * 1000 + microseconds / 1000
            }
            if case .error(let message) = values[requests.count] {
                let error = TaskStoreError(RedisError(.server, message))
                return (requests.map { _ in .failure(error) }, redisTime)
            }
            let outcomes = zip(requests, values).map { request, value -> Result<EnqueueOutcome, TaskStoreError> in
                if case .error(let message) = value { return .failure(TaskStoreError(RedisError(.server, message))) }
                return .success(
                    .created(
                        TaskRecord(
                            id: request.id, submission: request.submission, payload: request.payload,
                            storedAt: Timestamp(milliseconds: now))))
            }
            return (outcomes, redisTime)
        }
    }
}
