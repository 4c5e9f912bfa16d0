/// A date and time of day on a wall clock, to the second, with no time zone: what a cron expression matches.
public struct CivilTime: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The year, proleptic Gregorian.
    public var year: Int
    /// 1 to 12.
    public var month: Int
    /// 1 to the month's length.
    public var day: Int
    /// 0 to 23.
    public var hour: Int
    /// 0 to 59.
    public var minute: Int
    /// 0 to 59.
    public var second: Int

    /// Creates a time; the fields must be in range (see each).
    public init(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
    }

    /// The time in UTC `seconds` after the Unix epoch.
    public init(utcSeconds seconds: Int) {
        let (days, secondOfDay) = seconds.floorDivided(by: 86_400)
        let (year, month, day) = Timestamp.civil(fromDays: days)
        self.init(
            year: year, month: month, day: day, hour: secondOfDay / 3600, minute: secondOfDay / 60 % 60,
            second: secondOfDay % 60)
    }

    /// Seconds after the Unix epoch when this time is read as UTC.
    public var utcSeconds: Int {
        Timestamp.days(fromYear: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second
    }

    /// The day of the week, 0 for Sunday to 6 for Saturday.
    public var weekday: Int {
        // 1970-01-01 was a Thursday (4).
        (Timestamp.days(fromYear: year, month: month, day: day) + 4).floorDivided(by: 7).1
    }

    /// `2026-03-29T02:30:00`.
    public var description: String {
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)-\(two(month))-\(two(day))T\(two(hour)):\(two(minute)):\(two(second))"
    }

    /// Earlier on the calendar.
    public static func < (lhs: CivilTime, rhs: CivilTime) -> Bool {
        (lhs.year, lhs.month, lhs.day, lhs.hour, lhs.minute, lhs.second)
            < (rhs.year, rhs.month, rhs.day, rhs.hour, rhs.minute, rhs.second)
    }

    /// The number of days in `month` of `year` (28 to 31).
    public static func daysIn(month: Int, of year: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    static func isLeap(_ year: Int) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }
}
