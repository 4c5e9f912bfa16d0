/// Text made safe for a terminal: control characters written as escapes, so that a task's result, an error, a
/// path or a header value cannot move the cursor, retitle the window or hide what follows.
///
/// Escaped: C0 controls (`\n` `\r` `\t` as such, the rest as `\x1b`), DEL (`\x7f`) and the C1 controls
/// U+0080-U+009F (`\u{9b}`: a single-character CSI for some terminals); a backslash is doubled, so an escape
/// written by the sender cannot pass for one written here. Everything else passes unchanged. O(n).
enum TerminalSafe {
    /// `text` with its control characters escaped.
    static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            guard needsEscape(scalar) else {
                out.append(scalar)
                continue
            }
            let escape: String
            switch scalar {
            case "\\": escape = "\\\\"
            case "\n": escape = "\\n"
            case "\r": escape = "\\r"
            case "\t": escape = "\\t"
            default:
                let hex = String(scalar.value, radix: 16)
                escape = scalar.value < 0x80 ? "\\x" + (hex.count < 2 ? "0" + hex : hex) : "\\u{" + hex + "}"
            }
            out.append(contentsOf: escape.unicodeScalars)
        }
        return String(out)
    }

    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || scalar == "\\" || (0x7F...0x9F).contains(scalar.value)
    }

    /// JSON text with DEL and the C1 controls written as `\u` escapes (JSON writers leave them raw; C0 controls
    /// are escaped already). The same JSON value, safe to print.
    static func json(_ bytes: [UInt8]) -> String {
        let text = String(decoding: bytes, as: UTF8.self)
        guard text.unicodeScalars.contains(where: { (0x7F...0x9F).contains($0.value) }) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if (0x7F...0x9F).contains(scalar.value) {
                out.append(contentsOf: "\\u00\(String(scalar.value, radix: 16))".unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }
}
