import Glibc
import TaskgateCore

/// Output for people and scripts: lines on stdout, errors on stderr, aligned tables. Every line is printed
/// through ``TerminalSafe``: what a handler or a client wrote (a result, an error, a queue's task) cannot send
/// escape sequences to the operator's terminal.
enum Console {
    /// Prints a line on standard output, control characters escaped.
    static func line(_ text: String) {
        print(TerminalSafe.escaped(text))
    }

    /// Prints JSON bytes as one line on standard output (DEL and C1 controls as `\u` escapes).
    static func json(_ bytes: [UInt8]) {
        print(TerminalSafe.json(bytes))
    }

    /// Prints a line on standard error, control characters escaped.
    static func error(_ text: String) {
        let line = Array((TerminalSafe.escaped(text) + "\n").utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }

    /// Prints rows under a header, each column as wide as its widest cell; numbers are right-aligned.
    static func table(_ header: [String], _ unsafeRows: [[String]]) {
        // Escaped before measuring, so that the columns stay aligned.
        let rows = unsafeRows.map { $0.map(TerminalSafe.escaped) }
        var widths = header.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        func render(_ cells: [String], numeric: [Bool]) -> String {
            var parts: [String] = []
            for (index, cell) in cells.enumerated() {
                let pad = String(repeating: " ", count: max(0, widths[index] - cell.count))
                let last = index == cells.count - 1
                parts.append(numeric[index] ? pad + cell : (last ? cell : cell + pad))
            }
            return parts.joined(separator: "  ")
        }
        let numeric = header.indices.map { column in
            !rows.isEmpty
                && rows.allSatisfy { row in
                    column < row.count && (Double(row[column]) != nil || row[column] == "-")
                }
        }
        // The cells are escaped already: printed as they are.
        print(render(header.map(TerminalSafe.escaped), numeric: numeric))
        for row in rows { print(render(row, numeric: numeric)) }
    }

    /// A time for a table: RFC 3339 to the second, `-` for none.
    static func time(_ value: Timestamp?) -> String {
        guard let value else { return "-" }
        return String(value.rfc3339.prefix(19)) + "Z"
    }

    /// A duration in seconds for a table, `-` for none.
    static func seconds(_ milliseconds: Int?) -> String {
        guard let milliseconds else { return "-" }
        if milliseconds < 10_000 { return String(format1(Double(milliseconds) / 1000)) }
        return String(milliseconds / 1000)
    }

    private static func format1(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}
