import Logging

/// A text log handler that escapes control characters in every message and metadata value (``TerminalSafe``)
/// before `wrapped` writes them: a request path in which libmicrohttpd decoded `%0a` to a newline, or a
/// handler's error with an escape sequence, can neither forge a log line nor drive the terminal that shows it.
struct EscapingLogHandler<Wrapped: LogHandler>: LogHandler {
    private var wrapped: Wrapped

    init(_ wrapped: Wrapped) {
        self.wrapped = wrapped
    }

    var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = newValue.mapValues(Self.escaped) }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { wrapped.metadataProvider }
        set { wrapped.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue.map(Self.escaped) }
    }

    func log(event: LogEvent) {
        var event = event
        event.message = Logger.Message(stringLiteral: TerminalSafe.escaped(event.message.description))
        event.metadata = event.metadata?.mapValues(Self.escaped)
        if let provider = wrapped.metadataProvider {
            // Provided values are merged by the wrapped handler: escaped here first, as explicit ones.
            var provided = provider.get().mapValues(Self.escaped)
            if let explicit = event.metadata { provided.merge(explicit) { _, new in new } }
            event.metadata = provided
        }
        wrapped.log(event: event)
    }

    private static func escaped(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let text): .string(TerminalSafe.escaped(text))
        case .stringConvertible(let convertible): .string(TerminalSafe.escaped(convertible.description))
        case .array(let values): .array(values.map(escaped))
        case .dictionary(let values): .dictionary(values.mapValues(escaped))
        }
    }
}
