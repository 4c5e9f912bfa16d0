import Foundation
import Logging
import TaskgateCore

/// Writes each log record as one JSON object on one line of standard error, for log collectors.
///
/// Fields: `time` (UTC, RFC 3339 with milliseconds), `level`, `label`, `source` (the module, or `libmicrohttpd`
/// for the HTTP library's own messages), `message`, then every metadata key as a field of its own (`id`,
/// `queue`, `attempt`, ... wherever the call site gives them). A line is one `write` (repeated only for the rest
/// of a partial write), so lines
/// from several threads never interleave.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String) {
        self.label = label
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let level = event.level
        let message = event.message
        let explicit = event.metadata
        let source = event.source
        var fields = self.metadata
        if let provided = metadataProvider?.get() { fields.merge(provided) { _, new in new } }
        if let explicit { fields.merge(explicit) { _, new in new } }
        var json = JSONWriter(capacity: 256)
        json.writeRaw(#"{"time":"#)
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        json.writeTimestamp(Timestamp(milliseconds: now.tv_sec * 1000 + now.tv_nsec / 1_000_000))
        json.writeRaw(#","level":"#)
        json.writeString(level.rawValue)
        json.writeRaw(#","label":"#)
        json.writeString(label)
        json.writeRaw(#","source":"#)
        json.writeString(source)
        json.writeRaw(#","message":"#)
        json.writeString(message.description)
        for (key, value) in fields.sorted(by: { $0.key < $1.key }) where !Self.reserved.contains(key) {
            json.writeRaw(",")
            json.writeString(key)
            json.writeRaw(":")
            json.write(Self.value(value))
        }
        json.writeRaw("}\n")
        json.bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Glibc.write(2, raw.baseAddress! + offset, raw.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }

    /// The fields every line has; metadata of the same names is left out rather than written twice.
    private static let reserved: Set<String> = ["time", "level", "label", "source", "message"]

    private static func value(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let string): return .string(string)
        case .stringConvertible(let convertible): return .string(convertible.description)
        case .array(let values): return .array(values.map(Self.value))
        case .dictionary(let entries):
            return .object(entries.sorted { $0.key < $1.key }.map { JSONMember($0.key, Self.value($0.value)) })
        }
    }
}
