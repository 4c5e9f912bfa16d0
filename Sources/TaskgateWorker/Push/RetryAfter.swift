import Glibc
import TaskgateCore

/// Reads an HTTP `Retry-After` value (RFC 9110): delay-seconds, or an IMF-fixdate such as
/// `Sun, 06 Nov 1994 08:49:37 GMT`.
enum RetryAfter {
    /// The longest wait honoured: a day (a later retry is still a retry, not a parked task).
    static let maxMilliseconds = 86_400_000

    /// The wait in milliseconds, or `nil` when the value is neither form; a date in the past is 0.
    static func milliseconds(_ value: String, nowSeconds: Int = Int(time(nil))) -> Int? {
        let text = value.trimmingWhitespace
        if !text.isEmpty, text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) {
            guard let seconds = Int(text) else { return maxMilliseconds }
            return min(seconds, maxMilliseconds / 1000) * 1000
        }
        guard let date = imfFixdate(text) else { return nil }
        return min(max(0, date - nowSeconds), maxMilliseconds / 1000) * 1000
    }

    /// Seconds since the epoch of an IMF-fixdate.
    static func imfFixdate(_ text: String) -> Int? {
        // "Sun, 06 Nov 1994 08:49:37 GMT"
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[0].hasSuffix(","), parts[5] == "GMT" else { return nil }
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard let day = Int(parts[1]), let monthIndex = months.firstIndex(of: String(parts[2])),
            let year = Int(parts[3])
        else { return nil }
        let clock = parts[4].split(separator: ":").compactMap { Int($0) }
        guard clock.count == 3, (1...31).contains(day), (1970...9999).contains(year) else { return nil }
        return Timestamp.days(fromYear: year, month: monthIndex + 1, day: day) * 86_400 + clock[0] * 3600 + clock[1]
            * 60
            + clock[2]
    }
}
