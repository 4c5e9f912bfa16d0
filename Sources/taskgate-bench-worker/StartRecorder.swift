import Foundation
import Synchronization
import TaskgateCore

/// Collects `<task id> <unix nanoseconds>` lines as handlers start and writes them out in batches.
final class StartRecorder: Sendable {
    private let handle: FileHandle
    private let pending = Mutex<[UInt8]>([])

    init(path: String) throws {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw CocoaError(.fileNoSuchFile)
        }
        self.handle = handle
    }

    func record(_ id: TaskID) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let line = "\(id.rawValue) \(Int(now.tv_sec) * 1_000_000_000 + now.tv_nsec)\n"
        let full = pending.withLock { buffer -> [UInt8]? in
            buffer.append(contentsOf: line.utf8)
            guard buffer.count >= 64 * 1024 else { return nil }
            defer { buffer.removeAll(keepingCapacity: true) }
            return buffer
        }
        if let full { handle.write(Data(full)) }
    }

    func flush() {
        let rest = pending.withLock { buffer -> [UInt8] in
            defer { buffer.removeAll() }
            return buffer
        }
        handle.write(Data(rest))
    }
}
