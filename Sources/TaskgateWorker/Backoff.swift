/// Growing pauses between attempts to reach Redis: 100 ms doubling up to 5 s.
struct Backoff: Sendable {
    private(set) var current: Duration = .milliseconds(100)

    mutating func wait() async {
        try? await Task.sleep(for: current)
        current = min(current * 2, .seconds(5))
    }

    mutating func reset() {
        current = .milliseconds(100)
    }
}
