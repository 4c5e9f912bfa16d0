import Glibc
import TaskgateCore

/// Output for people and scripts: lines on stdout, errors on stderr, aligned tables.
enum Console {
    /// Prints a line on standard output.
    static func line(_ text: String) {
        print(text)
    }

    /// Prints JSON bytes as one line on standard output.
    static func json(_ bytes: [UInt8]) {
        print(String(decoding: bytes, as: UTF8.self))
    }

    /// Prints a line on standard error.
    static func error(_ text: String) {
        let line = Array((text + "\n").utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }

    /// Prints rows under a header, each column as wide as its widest cell; numbers are right-aligned.
    static func table(_ header: [String], _ rows: [[String]]) {
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
        line(render(header, numeric: numeric))
        for row in rows { line(render(row, numeric: numeric)) }
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
