import Testing

@testable import TaskgateCore

@Suite struct JSONValueTests {
    @Test func parsesEveryKindAndKeepsNumberLiterals() throws {
        let value = try JSONValue.parse(#" {"a": [1, -2.50, 3e10, true, false, null], "b": {"c": "d"}} "#)
        #expect(
            value
                == .object([
                    JSONMember(
                        "a",
                        .array([.number("1"), .number("-2.50"), .number("3e10"), .bool(true), .bool(false), .null])),
                    JSONMember("b", .object([JSONMember("c", .string("d"))])),
                ]))
        #expect(value.serialized == #"{"a":[1,-2.50,3e10,true,false,null],"b":{"c":"d"}}"#)
    }

    @Test func keepsBigIntegersExactly() throws {
        let text = "123456789012345678901234567890"
        #expect(try JSONValue.parse(text).serialized == text)
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        let value = try JSONValue.parse(#""a\"b\\c\/d\n\u00e9\ud83d\ude00""#)
        #expect(value == .string("a\"b\\c/d\né😀"))
    }

    @Test func writesEscapesThatParseBack() throws {
        let original = JSONValue.string("quote \" backslash \\ newline \n tab \t bell \u{07} é")
        #expect(try JSONValue.parse(original.serialized) == original)
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\":1,}", "01", "1.", "-", ".5", "+1", "nul", "tru", "\"abc", "\"a\u{01}b\"",
        "\"\\x\"", "\"\\ud800\"", "\"\\udc00\"", "{\"a\" 1}", "[1 2]", "1 2", "{'a':1}", "NaN", "Infinity",
    ])
    func rejectsInvalidJSON(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSONValue.parse([0x22, 0xFF, 0x22]) }
    }

    @Test func rejectsNestingBeyondTheLimit() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONParseError.self) { try JSONValue.parse(deep) }
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: Never.self) { try JSONValue.parse(fine) }
    }

    @Test func reportsTheOffset() {
        do {
            _ = try JSONValue.parse("[1, x]")
            Issue.record("expected an error")
        } catch {
            #expect(error.offset == 4)
        }
    }
}
