import Testing

@testable import TaskgateCore

@Suite(.dedicatedThreads) struct JSONValueTests {
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

    /// Payloads, valid and not, for the verbatim path: whitespace everywhere, escapes, unicode, nesting, errors.
    static let payloads = [
        #" { "a" : [ 1 , -2.50 , 3e10 , true , false , null ] , "b" : { "c" : "d" } } "#, "[]", "{}", " [ ] ",
        "{ }", "0", "-0.5e+3", #""plain""#, #""esc\"aped\\ \/ \b\f\n\r\t""#, #""\u0041\u00e9\ud83d\ude00""#,
        "\"é ü 😀\"", #"{"nested":[[[{"k":[1,{"x":null}]}]]]}"#, "[1,]", "{\"a\":1,}", "01", "1.", "-", "nul",
        "\"abc", "\"a\u{01}b\"", "\"\\x\"", "\"\\ud800\"", "{\"a\" 1}", "[1 2]", "{'a':1}", "[1,2", "{\"a\":",
        String(repeating: "[", count: 300) + String(repeating: "]", count: 300),
    ]

    @Test(arguments: payloads)
    func verbatimMemberIsWhatTheTreeSerializesTo(_ payload: String) {
        let body = Array((#"{"type":"t","payload":"# + payload + "}").utf8)
        let tree = Result { () throws(JSONParseError) in try JSONValue.parse(body) }
        let fast = Result { () throws(JSONParseError) in try JSONValue.parse(body, verbatimMember: "payload") }
        switch (tree, fast) {
        case (.success(.object(let treeMembers)), .success(.object(let fastMembers))):
            #expect(fastMembers.count == 2)
            #expect(fastMembers.first == treeMembers.first)
            #expect(fastMembers.last?.value == .verbatim(treeMembers.last?.value.serialized ?? ""))
        case (.failure(let treeError), .failure(let fastError)):
            #expect(fastError == treeError)
        default:
            Issue.record("tree parse \(tree) but verbatim parse \(fast)")
        }
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
