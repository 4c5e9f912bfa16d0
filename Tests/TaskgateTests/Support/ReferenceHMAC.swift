import Foundation

/// HMAC-SHA256 as Python's `hmac` module computes it: an implementation apart from the libcrypto Taskgate signs
/// with, so a test checks a signature as a receiver in another language would.
func referenceHMACSHA256(key: [UInt8], message: [UInt8]) throws -> [UInt8] {
    let output = FileManager.default.temporaryDirectory.appendingPathComponent("hmac-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: output) }
    let script =
        "import hashlib, hmac, sys; print(hmac.new(bytes.fromhex(sys.argv[1]), bytes.fromhex(sys.argv[2]), "
        + "hashlib.sha256).hexdigest())"
    let child = try SpawnedProcess(
        "/usr/bin/env", ["python3", "-c", script, hex(key), hex(message)],
        environment: ProcessInfo.processInfo.environment, outputPath: output.path)
    guard child.waitUntilExit() == 0 else { throw TestFailure("python3 could not compute the HMAC") }
    let digits = try String(contentsOf: output, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    var bytes: [UInt8] = []
    var index = digits.startIndex
    while index < digits.endIndex, let next = digits.index(index, offsetBy: 2, limitedBy: digits.endIndex) {
        guard let byte = UInt8(digits[index..<next], radix: 16) else { break }
        bytes.append(byte)
        index = next
    }
    guard bytes.count == 32 else { throw TestFailure("python3 printed no HMAC-SHA256: \(digits)") }
    return bytes
}

private func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}
