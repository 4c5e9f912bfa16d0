import TaskgateCore

/// Something that waits for task events: a Server-Sent Events stream or a long-poll.
///
/// Called on the subscriber's thread: implementations must not block (no Redis call in place).
protocol EventListener: AnyObject, Sendable {
    /// One event of the task (or queue) listened to, in the order Redis published it.
    func receive(_ event: TaskEvent)
    /// A change to the queue's settings (pause, resume, limits); only listeners to a whole queue get these.
    func receive(queueEvent event: QueueEvent)
    /// A change of the batch listened to; only batch listeners get these.
    func receive(batchEvent event: BatchEvent)
    /// Events may have been missed (the subscriber reconnected): look at the record again.
    func resync()
    /// Every 15 s while open (stream keep-alives).
    func tick()
    /// The gateway is stopping: end now.
    func close()
}

extension EventListener {
    func receive(queueEvent event: QueueEvent) {}
    func receive(batchEvent event: BatchEvent) {}
    func receive(_ event: TaskEvent) {}
}
