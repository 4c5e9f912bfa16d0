import ArgumentParser
import Foundation
import Glibc
import Synchronization
import TaskgateCore
import TaskgateRedis

/// Resolves a setting from its flag, then its environment variable, then its default.
enum Settings {
    static func string(_ variable: String) -> String? {
        guard let raw = getenv(variable) else { return nil }
        let value = String(cString: raw)
        return value.isEmpty ? nil : value
    }

    static func string(_ flag: String?, _ variable: String, default fallback: String) -> String {
        flag ?? string(variable) ?? fallback
    }

    /// The entries of a repeatable, comma-separated option (`--queues a,b --queues c`), else of its variable
    /// (`TASKGATE_QUEUES=a,b`), trimmed, empty ones dropped; `nil` when neither gives one.
    static func list(_ flags: [String], _ variable: String) -> [String]? {
        guard let text = flags.isEmpty ? string(variable) : flags.joined(separator: ",") else { return nil }
        let entries = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return entries.isEmpty ? nil : entries
    }

    static func int(_ flag: Int?, _ variable: String, default fallback: Int, range: ClosedRange<Int>) throws -> Int {
        var value = fallback
        if let flag {
            value = flag
        } else if let text = string(variable) {
            guard let parsed = Int(text) else { throw ValidationError("\(variable) must be an integer, got \(text)") }
            value = parsed
        }
        guard range.contains(value) else {
            throw ValidationError("\(variable) must be from \(range.lowerBound) to \(range.upperBound), got \(value)")
        }
        return value
    }

    static func double(_ flag: Double?, _ variable: String, default fallback: Double, minimum: Double) throws -> Double
    {
        var value = fallback
        if let flag {
            value = flag
        } else if let text = string(variable) {
            guard let parsed = Double(text) else { throw ValidationError("\(variable) must be a number, got \(text)") }
            value = parsed
        }
        guard value.isFinite, value >= minimum else {
            throw ValidationError("\(variable) must be a number >= \(minimum), got \(value)")
        }
        return value
    }

    /// ``double(_:_:default:minimum:)`` for a setting that may be left unset (`nil`).
    static func optionalDouble(_ flag: Double?, _ variable: String, minimum: Double) throws -> Double? {
        guard flag != nil || string(variable) != nil else { return nil }
        return try double(flag, variable, default: minimum, minimum: minimum)
    }

    /// The Redis configuration from the flag or `TASKGATE_REDIS_URL`; parsed once per URL, so every part of
    /// the process shares one Sentinel monitor (and one `+switch-master` listener).
    static func redis(_ flag: String?) throws -> RedisConfiguration {
        let url = string(flag, "TASKGATE_REDIS_URL", default: "redis://127.0.0.1:6379/0")
        if let known = parsedRedis.withLock({ $0[url] }) { return known }
        do {
            let configuration = try RedisConfiguration(url: url)
            return parsedRedis.withLock { parsed in
                if let known = parsed[url] { return known }
                parsed[url] = configuration
                return configuration
            }
        } catch {
            throw ValidationError(error.message)
        }
    }

    private static let parsedRedis = Mutex<[String: RedisConfiguration]>([:])

    /// The hosts completion callbacks may go to: every `--callback-allow`, else `TASKGATE_CALLBACK_ALLOW`;
    /// none given, no callback is allowed.
    static func callbackAllow(_ flags: [String]) throws -> CallbackAllowList {
        guard let text = flags.isEmpty ? string("TASKGATE_CALLBACK_ALLOW") : flags.joined(separator: ",") else {
            return .none
        }
        do {
            return try CallbackAllowList(text)
        } catch {
            throw ValidationError("--callback-allow / TASKGATE_CALLBACK_ALLOW: \(error)")
        }
    }

    static func keys(_ flag: String?) throws -> KeySpace {
        let prefix = string(flag, "TASKGATE_KEY_PREFIX", default: "taskgate")
        guard let keys = KeySpace(prefix: prefix) else {
            throw ValidationError("key prefix must be 1-64 characters from A-Z a-z 0-9 : . _ -, got \(prefix)")
        }
        return keys
    }
}
