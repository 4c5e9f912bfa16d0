extension TaskRecord {
    /// The record as the API shows it (openapi.yaml's Task): the body of `POST /tasks`, `GET /tasks/{id}`,
    /// event snapshots and completion callbacks. Written straight to JSON bytes (this is the body of every
    /// 202, so it builds no intermediate tree).
    public var json: [UInt8] {
        let record = self
        // The fixed part of a task is under 400 bytes; sized once, the buffer never grows.
        var json = JSONWriter(
            capacity: 420 + (record.callbackURL.map { $0.utf8.count + 200 } ?? 0) + record.payload.utf8.count
                + (record.result?.json.utf8.count ?? 0)
                + (record.lastError?.utf8.count ?? 0)
                + (record.origin.map { $0.schedule.rawValue.utf8.count + 60 } ?? 0)
                + (record.after.count + (record.children?.count ?? 0)) * 48)
        json.writeRaw(#"{"id":"#)
        json.writeString(record.id.rawValue)
        json.writeRaw(#","queue":"#)
        json.writeString(record.queue.rawValue)
        json.writeRaw(#","type":"#)
        json.writeString(orNull: record.type)
        json.writeRaw(#","state":"#)
        json.writeString(record.state.rawValue)
        json.writeRaw(#","retries":"#)
        json.writeInteger(record.retries)
        json.writeRaw(#","max_retries":"#)
        json.writeInteger(record.maxRetries)
        json.writeRaw(#","attempts":"#)
        json.writeInteger(record.attempts)
        json.writeRaw(#","timeout_seconds":"#)
        if let timeout = record.timeoutMilliseconds { json.write(Self.seconds(timeout)) } else { json.writeRaw("null") }
        // The payload was stored as compact JSON by the enqueue step; it goes out as stored.
        json.writeRaw(#","payload":"#)
        json.writeVerbatim(record.payload.isEmpty ? "null" : record.payload)
        json.writeRaw(#","result":"#)
        json.writeVerbatim(record.result?.json ?? "null")
        json.writeRaw(#","last_error":"#)
        json.writeString(orNull: record.lastError)
        json.writeRaw(#","created_at":"#)
        json.writeTimestamp(record.createdAt)
        json.writeRaw(#","updated_at":"#)
        json.writeTimestamp(record.updatedAt)
        json.writeRaw(#","run_at":"#)
        json.writeTimestamp(record.runAt)
        json.writeRaw(#","started_at":"#)
        json.writeTimestamp(record.startedAt)
        json.writeRaw(#","finished_at":"#)
        json.writeTimestamp(record.finishedAt)
        json.writeRaw(#","seq":"#)
        json.writeInteger(record.sequence)
        if let url = record.callbackURL { Self.writeCallback(url, record.callback, to: &json) }
        if let origin = record.origin {
            json.writeRaw(#","schedule":"#)
            json.writeString(origin.schedule.rawValue)
            json.writeRaw(#","tick":"#)
            json.writeTimestamp(origin.tick)
        }
        if !record.after.isEmpty || record.batch != nil || record.hasChildren { Self.writeWorkflow(record, to: &json) }
        json.writeRaw("}")
        return json.bytes
    }

    /// `"callback":{"url":..,"state":..,"tries":..,"last_status":..,"last_error":..,"finished_at":..}`; the
    /// state is `waiting` until the task is final.
    static func writeCallback(_ url: String, _ delivery: CallbackDelivery?, to json: inout JSONWriter) {
        json.writeRaw(#","callback":{"url":"#)
        json.writeString(url)
        json.writeRaw(#","state":"#)
        json.writeString(delivery?.state.rawValue ?? "waiting")
        json.writeRaw(#","tries":"#)
        json.writeInteger(delivery?.tries ?? 0)
        json.writeRaw(#","last_status":"#)
        if let status = delivery?.lastStatus { json.writeInteger(status) } else { json.writeRaw("null") }
        json.writeRaw(#","last_error":"#)
        json.writeString(orNull: delivery?.lastError)
        json.writeRaw(#","finished_at":"#)
        json.writeTimestamp(delivery?.finishedAt)
        json.writeRaw("}")
    }

    /// `after`, `on_parent_failure`, `waiting_for` and `expires_at` (while waiting), `batch`, and `children`
    /// with `children_count`, each only when the task has it.
    private static func writeWorkflow(_ record: TaskRecord, to json: inout JSONWriter) {
        if !record.after.isEmpty {
            json.writeRaw(#","after":["#)
            for (index, parent) in record.after.enumerated() {
                if index > 0 { json.writeRaw(",") }
                json.writeString(parent)
            }
            json.writeRaw(#"],"on_parent_failure":"#)
            json.writeString(record.onParentFailure.rawValue)
        }
        if let waiting = record.waitingFor {
            json.writeRaw(#","waiting_for":"#)
            json.writeInteger(waiting)
        }
        if let expires = record.expiresAt {
            json.writeRaw(#","expires_at":"#)
            json.writeTimestamp(expires)
        }
        if let batch = record.batch {
            json.writeRaw(#","batch":"#)
            json.writeString(batch)
        }
        if let children = record.children {
            json.writeRaw(#","children":["#)
            for (index, child) in children.enumerated() {
                if index > 0 { json.writeRaw(",") }
                json.writeString(child)
            }
            json.writeRaw(#"],"children_count":"#)
            json.writeInteger(record.childCount ?? children.count)
        }
    }

    private static func seconds(_ milliseconds: Int) -> JSONValue {
        milliseconds % 1000 == 0
            ? .integer(milliseconds / 1000)
            : .number(String(Double(milliseconds) / 1000))
    }
}
