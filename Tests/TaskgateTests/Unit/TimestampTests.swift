import Testing

@testable import TaskgateCore

@Suite(.dedicatedThreads) struct TimestampTests {
    @Test(arguments: [
        (0, "1970-01-01T00:00:00.000Z"),
        (951_782_400_000, "2000-02-29T00:00:00.000Z"),
        (1_764_149_605_123, "2025-11-26T09:33:25.123Z"),
        (4_102_444_799_999, "2099-12-31T23:59:59.999Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
    ])
    func formatsRFC3339(_ milliseconds: Int, _ expected: String) {
        #expect(Timestamp(milliseconds: milliseconds).rfc3339 == expected)
    }
}
