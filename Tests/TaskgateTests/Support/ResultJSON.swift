import Foundation

/// A task's `result` as compact JSON with sorted keys, from a record decoded by JSONSerialization: what a test
/// compares a JSON value with.
func resultJSON(_ task: [String: Any]) -> String? {
    guard let value = task["result"] else { return nil }
    guard
        let data = try? JSONSerialization.data(
            withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
    else { return nil }
    return String(decoding: data, as: UTF8.self)
}
