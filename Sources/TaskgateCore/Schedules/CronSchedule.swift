/// When a schedule fires: the seconds a ``CronExpression`` matches on a wall clock, or every so many seconds.
public enum CronSchedule: Sendable, Hashable {
    /// A cron expression, matched on the wall clock of the schedule's time zone.
    case calendar(CronExpression)
    /// `@every <duration>`: every `seconds`, counted from the Unix epoch, so that every host finds the same ticks
    /// (`@every 1h` fires on the hour in UTC, whichever host computes it and whenever it started).
    case every(seconds: Int)

    /// The longest `@every` interval taken: 31 days.
    public static let maxIntervalSeconds = 31 * 86_400

    /// Parses a cron expression or `@every <duration>`, where a duration is whole seconds given as one or more
    /// `<n>h`, `<n>m`, `<n>s` (`90s`, `1h30m`), from 1 s to 31 days.
    public init(_ text: String) throws(CronError) {
        let trimmed = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard trimmed.first?.lowercased() == "@every" else {
            self = .calendar(try CronExpression(text))
            return
        }
        guard trimmed.count == 2 else {
            throw CronError(.invalidInterval, field: "cron", "@every takes one duration, such as 30s or 1h30m")
        }
        self = .every(seconds: try Self.seconds(String(trimmed[1])))
    }

    /// The first tick after `utcSeconds` (seconds since the epoch), a calendar schedule read on a UTC wall clock;
    /// `nil` when a calendar schedule has no tick in the next 20 years.
    public func next(afterUTCSeconds utcSeconds: Int) -> Int? {
        switch self {
        case .every(let interval):
            let (periods, _) = utcSeconds.floorDivided(by: interval)
            return (periods + 1) * interval
        case .calendar(let expression):
            return expression.next(after: CivilTime(utcSeconds: utcSeconds))?.utcSeconds
        }
    }

    private static func seconds(_ duration: String) throws(CronError) -> Int {
        var total = 0
        var digits = ""
        var units = 0
        for character in duration.lowercased() {
            if character.isASCII, character.isNumber {
                digits.append(character)
                continue
            }
            let unit: Int
            switch character {
            case "h": unit = 3600
            case "m": unit = 60
            case "s": unit = 1
            default: throw CronError(.invalidInterval, field: "cron", "\(duration): units are h, m and s")
            }
            guard let count = Int(digits), count <= maxIntervalSeconds else {
                throw CronError(.invalidInterval, field: "cron", "\(duration): a number must come before each unit")
            }
            total += count * unit
            digits = ""
            units += 1
            guard total <= maxIntervalSeconds else { break }
        }
        guard digits.isEmpty, units > 0, (1...maxIntervalSeconds).contains(total) else {
            throw CronError(
                .invalidInterval, field: "cron", "\(duration): a duration such as 30s or 1h30m, from 1s to 31 days")
        }
        return total
    }
}
