import Foundation
import Testing

/// The tests' own process starter: a child gets its standard descriptors and nothing else of the test process.
@Suite(.dedicatedThreads) struct SpawnedProcessTests {
    @Test func aChildInheritsNoDescriptorButItsStandardOnes() throws {
        // A socket without close-on-exec, as hiredis and the tests' own sockets are.
        let open = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(open) }
        #expect(open > 2)
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("fds-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: output) }
        // The shell lists its descriptors before it opens anything of its own.
        let child = try SpawnedProcess(
            "/bin/sh", ["-c", "ls /proc/$$/fd"], environment: [:], outputPath: output.path)
        #expect(child.waitUntilExit() == 0)
        let listed = try String(contentsOf: output, encoding: .utf8).split(whereSeparator: \.isWhitespace)
        #expect(!listed.contains(Substring(String(open))), "the child kept descriptor \(open): \(listed)")
        #expect(Set(listed).isSuperset(of: ["0", "1", "2"]))
    }
}
