/// Why a cron expression was refused: which field, and what is wrong with it.
public struct CronError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of mistake it is.
    public enum Code: String, Sendable {
        /// Not five or six fields (nor a known `@` form).
        case fieldCount = "field-count"
        /// A number or name that is not valid in its field.
        case invalidValue = "invalid-value"
        /// A number outside its field's range (`61` minutes).
        case outOfRange = "out-of-range"
        /// A range whose start is after its end (`5-2`).
        case invalidRange = "invalid-range"
        /// A step that is not a whole number from 1 up to the field's span.
        case invalidStep = "invalid-step"
        /// A day of the month that no chosen month has (`30 2`, February 30th): it would never fire.
        case neverFires = "never-fires"
        /// An `@` form that is not one of `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`,
        /// `@hourly`, `@every <duration>`.
        case unknownMacro = "unknown-macro"
        /// An `@every` duration that is not whole seconds from 1 s to 31 days (`@every 90s`, `@every 1h30m`).
        case invalidInterval = "invalid-interval"
        /// Quartz's `L`, `W` and `#`, which this parser does not take.
        case unsupported = "unsupported"
    }

    /// What kind of mistake it is.
    public let code: Code
    /// The field: `second`, `minute`, `hour`, `day_of_month`, `month`, `day_of_week`, or `cron` for the whole.
    public let field: String
    /// What is wrong, for a person.
    public let reason: String

    /// Creates an error.
    public init(_ code: Code, field: String, _ reason: String) {
        self.code = code
        self.field = field
        self.reason = reason
    }

    /// `field: reason`.
    public var description: String { "\(field): \(reason)" }
}
