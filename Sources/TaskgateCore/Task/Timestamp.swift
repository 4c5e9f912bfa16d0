/// Milliseconds since the Unix epoch, as kept in Redis (taken from Redis `TIME`, the one clock all hosts share).
public struct Timestamp: Sendable, Hashable, Comparable {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public let milliseconds: Int

    /// Creates a timestamp.
    public init(milliseconds: Int) {
        self.milliseconds = milliseconds
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.milliseconds < rhs.milliseconds }

    /// RFC 3339 in UTC with milliseconds: `2026-11-26T09:30:00.123Z`.
    public var rfc3339: String {
        var text: [UInt8] = []
        appendRFC3339(to: &text)
        return String(decoding: text, as: UTF8.self)
    }

    /// Appends ``rfc3339`` to `bytes` as UTF-8.
    public func appendRFC3339(to bytes: inout [UInt8]) {
        let (days, msOfDay) = milliseconds.floorDivided(by: 86_400_000)
        let (year, month, day) = Self.civil(fromDays: days)
        guard (0...9999).contains(year) else {
            bytes.append(contentsOf: "\(year)-01-01T00:00:00.000Z".utf8)
            return
        }
        let start = bytes.count
        bytes.append(contentsOf: "0000-00-00T00:00:00.000Z".utf8)
        func put(_ value: Int, at end: Int, width: Int) {
            var rest = value
            for index in stride(from: start + end, to: start + end - width, by: -1) {
                bytes[index] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            }
        }
        put(year, at: 3, width: 4)
        put(month, at: 6, width: 2)
        put(day, at: 9, width: 2)
        put(msOfDay / 3_600_000, at: 12, width: 2)
        put(msOfDay / 60_000 % 60, at: 15, width: 2)
        put(msOfDay / 1000 % 60, at: 18, width: 2)
        put(msOfDay % 1000, at: 22, width: 3)
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (negative before it): Howard Hinnant's days_from_civil,
    /// the inverse of ``civil(fromDays:)``.
    public static func days(fromYear year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// Year, month, day from days since 1970-01-01 (Howard Hinnant's civil_from_days).
    static func civil(fromDays days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

extension Int {
    func floorDivided(by divisor: Int) -> (Int, Int) {
        let quotient = self >= 0 ? self / divisor : (self - divisor + 1) / divisor
        return (quotient, self - quotient * divisor)
    }
}
