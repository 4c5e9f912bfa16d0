/// A cron expression, parsed: which wall-clock seconds it fires at.
///
/// Five fields (`minute hour day-of-month month day-of-week`, firing at second 0) or six with a leading seconds
/// field, as robfig/cron and BullMQ take them. Each field is `*`, a number or a name (`JAN`-`DEC`, `SUN`-`SAT`, any
/// case), a range `a-b`, a step `*/n`, `a/n` or `a-b/n`, or a comma-separated list of these; `?` is `*` in the two day
/// fields; a day of the week is 0-7, where 0 and 7 are both Sunday. As in Vixie cron, when both day fields are
/// restricted a day matches either; when one is `*`, the other decides. The forms `@yearly` (`@annually`),
/// `@monthly`, `@weekly`, `@daily` (`@midnight`) and `@hourly` stand for their usual five fields; `@every` is a
/// ``CronSchedule`` of its own. Quartz's `L`, `W` and `#` are refused, as is a day of the month no chosen month
/// has (February 30th would never fire).
///
/// No maintained cron parser is among the packages that resolve here, so this is the project's own, tested against
/// a table of expressions and their next times (`CronTests`).
public struct CronExpression: Sendable, Hashable {
    /// The bits of the seconds (0-59), minutes (0-59), hours (0-23), days of the month (1-31), months (1-12) and days
    /// of the week (0-6) it fires on.
    let seconds: UInt64
    let minutes: UInt64
    let hours: UInt64
    let days: UInt64
    let months: UInt64
    let weekdays: UInt64
    /// Whether each day field was given as something other than `*` or `?`.
    let daysRestricted: Bool
    let weekdaysRestricted: Bool

    private struct Field {
        let name: String
        let range: ClosedRange<Int>
        let names: [String]
        let firstName: Int
        let allowsQuestionMark: Bool
    }

    private static let second = Field(name: "second", range: 0...59, names: [], firstName: 0, allowsQuestionMark: false)
    private static let minute = Field(name: "minute", range: 0...59, names: [], firstName: 0, allowsQuestionMark: false)
    private static let hour = Field(name: "hour", range: 0...23, names: [], firstName: 0, allowsQuestionMark: false)
    private static let dayOfMonth = Field(
        name: "day_of_month", range: 1...31, names: [], firstName: 0, allowsQuestionMark: true)
    private static let month = Field(
        name: "month", range: 1...12,
        names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], firstName: 1,
        allowsQuestionMark: false)
    private static let dayOfWeek = Field(
        name: "day_of_week", range: 0...7, names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], firstName: 0,
        allowsQuestionMark: true)

    private static let macros: [String: String] = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
    ]

    /// Parses `text` (see the type's description); throws a ``CronError`` naming the field that is wrong.
    public init(_ text: String) throws(CronError) {
        var fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        if fields.count == 1, fields[0].hasPrefix("@") {
            guard let expansion = Self.macros[fields[0].lowercased()] else {
                throw CronError(.unknownMacro, field: "cron", "unknown form \(fields[0])")
            }
            fields = expansion.split(separator: " ").map(String.init)
        }
        guard fields.count == 5 || fields.count == 6 else {
            throw CronError(
                .fieldCount, field: "cron",
                "\(fields.count) fields: give five (minute hour day-of-month month day-of-week) or six (seconds first)")
        }
        if fields.count == 5 { fields.insert("0", at: 0) }
        seconds = try Self.parse(fields[0], Self.second).bits
        minutes = try Self.parse(fields[1], Self.minute).bits
        hours = try Self.parse(fields[2], Self.hour).bits
        let (dayBits, dayStar) = try Self.parse(fields[3], Self.dayOfMonth)
        months = try Self.parse(fields[4], Self.month).bits
        let (weekdayBits, weekdayStar) = try Self.parse(fields[5], Self.dayOfWeek)
        days = dayBits
        // 7 is Sunday too.
        weekdays = (weekdayBits & ~(1 << 7)) | (weekdayBits >> 7 & 1)
        daysRestricted = !dayStar
        weekdaysRestricted = !weekdayStar
        if daysRestricted && !weekdaysRestricted {
            // Some chosen day must exist in some chosen month (February counts 29 days).
            var longest = 0
            for month in 1...12 where months & (1 << month) != 0 {
                longest = max(longest, month == 2 ? 29 : CivilTime.daysIn(month: month, of: 2001))
            }
            guard longest > 0, (1...longest).contains(where: { days & (1 << $0) != 0 }) else {
                throw CronError(.neverFires, field: "day_of_month", "no chosen month has that day: it would never fire")
            }
        }
    }

    /// The first time after `time` that the expression matches, or `nil` when there is none in the next 20 years
    /// (only possible for a day of the month in a leap year only, past that horizon).
    public func next(after time: CivilTime) -> CivilTime? {
        var t = time
        // The next whole second.
        t.second += 1
        normalize(&t)
        let limit = time.year + 20
        while t.year <= limit {
            guard months & (1 << t.month) != 0 else {
                t.month += 1
                (t.day, t.hour, t.minute, t.second) = (1, 0, 0, 0)
                normalize(&t)
                continue
            }
            guard dayMatches(t) else {
                t.day += 1
                (t.hour, t.minute, t.second) = (0, 0, 0)
                normalize(&t)
                continue
            }
            guard let hour = Self.first(in: hours, from: t.hour, through: 23) else {
                t.day += 1
                (t.hour, t.minute, t.second) = (0, 0, 0)
                normalize(&t)
                continue
            }
            if hour != t.hour { (t.hour, t.minute, t.second) = (hour, 0, 0) }
            guard let minute = Self.first(in: minutes, from: t.minute, through: 59) else {
                t.hour += 1
                (t.minute, t.second) = (0, 0)
                normalize(&t)
                continue
            }
            if minute != t.minute { (t.minute, t.second) = (minute, 0) }
            guard let second = Self.first(in: seconds, from: t.second, through: 59) else {
                t.minute += 1
                t.second = 0
                normalize(&t)
                continue
            }
            t.second = second
            return t
        }
        return nil
    }

    /// Whether the expression matches `time` exactly.
    public func matches(_ time: CivilTime) -> Bool {
        months & (1 << time.month) != 0 && dayMatches(time) && hours & (1 << time.hour) != 0
            && minutes & (1 << time.minute) != 0 && seconds & (1 << time.second) != 0
    }

    private func dayMatches(_ time: CivilTime) -> Bool {
        let inMonth = days & (1 << time.day) != 0
        let inWeek = weekdays & (1 << time.weekday) != 0
        switch (daysRestricted, weekdaysRestricted) {
        case (true, true): return inMonth || inWeek
        case (true, false): return inMonth
        case (false, true): return inWeek
        case (false, false): return true
        }
    }

    /// Carries overflowing seconds, minutes, hours, days and months into the next field up.
    private func normalize(_ t: inout CivilTime) {
        if t.second > 59 { (t.second, t.minute) = (0, t.minute + 1) }
        if t.minute > 59 { (t.minute, t.hour) = (0, t.hour + 1) }
        if t.hour > 23 { (t.hour, t.day) = (0, t.day + 1) }
        if t.day > CivilTime.daysIn(month: t.month, of: t.year) { (t.day, t.month) = (1, t.month + 1) }
        if t.month > 12 { (t.month, t.year) = (1, t.year + 1) }
    }

    private static func first(in bits: UInt64, from start: Int, through end: Int) -> Int? {
        guard start <= end else { return nil }
        let candidates = bits >> start
        guard candidates != 0 else { return nil }
        let found = start + candidates.trailingZeroBitCount
        return found <= end ? found : nil
    }

    /// The bits a field chooses, and whether it was `*` (or `?`) alone.
    private static func parse(_ text: String, _ field: Field) throws(CronError) -> (bits: UInt64, star: Bool) {
        if text == "*" || (text == "?" && field.allowsQuestionMark) { return (bits(field.range), true) }
        var bits: UInt64 = 0
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            bits |= try parseItem(String(item), field)
        }
        return (bits, false)
    }

    private static func bits(_ range: ClosedRange<Int>, step: Int = 1) -> UInt64 {
        var bits: UInt64 = 0
        for value in stride(from: range.lowerBound, through: range.upperBound, by: step) { bits |= 1 << value }
        return bits
    }

    private static func parseItem(_ item: String, _ field: Field) throws(CronError) -> UInt64 {
        guard !item.isEmpty else { throw CronError(.invalidValue, field: field.name, "an empty item in a list") }
        let parts = item.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { throw CronError(.invalidStep, field: field.name, "\(item): one step at most") }
        var step = 1
        if parts.count == 2 {
            guard let value = Int(parts[1]), value >= 1, value <= field.range.count else {
                throw CronError(
                    .invalidStep, field: field.name,
                    "\(item): a step is a whole number from 1 to \(field.range.count)")
            }
            step = value
        }
        let base = String(parts[0])
        let range: ClosedRange<Int>
        if base == "*" || (base == "?" && field.allowsQuestionMark) {
            range = field.range
        } else if let dash = base.firstIndex(of: "-") {
            let low = try value(String(base[..<dash]), field)
            let high = try value(String(base[base.index(after: dash)...]), field)
            guard low <= high else {
                throw CronError(.invalidRange, field: field.name, "\(item): the range starts after it ends")
            }
            range = low...high
        } else {
            let start = try value(base, field)
            // `a/n` runs from a to the end of the field, as in Vixie cron.
            range = parts.count == 2 ? start...field.range.upperBound : start...start
        }
        return bits(range, step: step)
    }

    private static func value(_ text: String, _ field: Field) throws(CronError) -> Int {
        if let number = Int(text), text.allSatisfy(\.isNumber) {
            guard field.range.contains(number) else {
                throw CronError(
                    .outOfRange, field: field.name,
                    "\(number) is out of \(field.range.lowerBound)-\(field.range.upperBound)")
            }
            return number
        }
        if let index = field.names.firstIndex(of: text.uppercased()) { return field.firstName + index }
        if text.uppercased().contains(where: { $0 == "L" || $0 == "W" || $0 == "#" }) {
            throw CronError(.unsupported, field: field.name, "\(text): Quartz's L, W and # are not supported")
        }
        throw CronError(.invalidValue, field: field.name, "\(text) is not a number or a name this field takes")
    }
}
