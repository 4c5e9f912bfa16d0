/// Everything Redis holds about one batch: its size, its counts of final tasks, its metadata and completion.
public struct BatchRecord: Sendable, Equatable {
    /// The batch's id (32 hex digits).
    public var id: String
    /// How many tasks it has.
    public var total: Int
    /// Its tasks that ended succeeded, dead and cancelled (each task counted once, in the state it ended in).
    public var succeeded: Int
    public var dead: Int
    public var cancelled: Int
    /// Whether every task is final; set once, by the change that made the last one final.
    public var complete: Bool
    /// The client's metadata, compact JSON.
    public var metadata: String?
    /// Where its completion is POSTed.
    public var callbackURL: String?
    /// How that delivery stands, once the batch is complete.
    public var callback: CallbackDelivery?
    public var createdAt: Timestamp
    public var completedAt: Timestamp?
    /// When the batch and its counts are removed (its tasks are not).
    public var expiresAt: Timestamp
    /// Whether tasks wait for the batch (`after: ["batch:<id>"]`).
    public var hasChildren: Bool

    /// Whether `id` can name a batch: 1 to 64 characters from `[A-Za-z0-9._-]` (the gateway makes 32 hex digits).
    public static func isValidID(_ id: String) -> Bool {
        (1...64).contains(id.utf8.count) && id.utf8.allSatisfy { QueueName.isAllowed($0) }
    }

    /// Tasks not final yet.
    public var unfinished: Int { max(0, total - succeeded - dead - cancelled) }
    /// Whether it is complete with every task succeeded.
    public var allSucceeded: Bool { complete && dead == 0 && cancelled == 0 }

    /// Decodes a flat `HGETALL` reply; `nil` when required fields are missing.
    public init?(flatFields: [String]) {
        var fields: [String: String] = [:]
        var delivery = CallbackDelivery.Fields()
        var index = 0
        while index + 1 < flatFields.count {
            fields[flatFields[index]] = flatFields[index + 1]
            delivery.read(flatFields[index], flatFields[index + 1])
            index += 2
        }
        guard let id = fields["id"], let total = fields["total"].flatMap(Int.init),
            let created = fields["created_at"].flatMap(Int.init), let expires = fields["expires_at"].flatMap(Int.init)
        else { return nil }
        self.id = id
        self.total = total
        self.succeeded = fields["succeeded"].flatMap(Int.init) ?? 0
        self.dead = fields["dead"].flatMap(Int.init) ?? 0
        self.cancelled = fields["cancelled"].flatMap(Int.init) ?? 0
        self.complete = fields["complete"] == "1"
        self.metadata = fields["metadata"]
        self.callbackURL = fields["callback"]
        self.callback = delivery.delivery
        self.createdAt = Timestamp(milliseconds: created)
        self.completedAt = fields["completed_at"].flatMap(Int.init).map(Timestamp.init(milliseconds:))
        self.expiresAt = Timestamp(milliseconds: expires)
        self.hasChildren = fields["kids"] == "1"
    }

    /// The batch as the API shows it (openapi.yaml's Batch): `GET /batches/{id}`, the batch member of a
    /// `POST /tasks/batch` answer and the body of its completion webhook.
    public var json: [UInt8] {
        var json = JSONWriter(capacity: 400 + (metadata?.utf8.count ?? 0) + (callbackURL?.utf8.count ?? 0))
        json.writeRaw(#"{"id":"#)
        json.writeString(id)
        json.writeRaw(#","total":"#)
        json.writeInteger(total)
        json.writeRaw(#","counts":{"succeeded":"#)
        json.writeInteger(succeeded)
        json.writeRaw(#","dead":"#)
        json.writeInteger(dead)
        json.writeRaw(#","cancelled":"#)
        json.writeInteger(cancelled)
        json.writeRaw(#","unfinished":"#)
        json.writeInteger(unfinished)
        json.writeRaw(#"},"complete":"#)
        json.writeRaw(complete ? "true" : "false")
        json.writeRaw(#","succeeded":"#)
        json.writeRaw(allSucceeded ? "true" : "false")
        json.writeRaw(#","metadata":"#)
        json.writeVerbatim(metadata ?? "null")
        json.writeRaw(#","created_at":"#)
        json.writeTimestamp(createdAt)
        json.writeRaw(#","completed_at":"#)
        json.writeTimestamp(completedAt)
        json.writeRaw(#","expires_at":"#)
        json.writeTimestamp(expiresAt)
        if let url = callbackURL { TaskRecord.writeCallback(url, callback, to: &json) }
        json.writeRaw("}")
        return json.bytes
    }
}
