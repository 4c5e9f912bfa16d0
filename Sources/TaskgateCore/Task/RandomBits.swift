import Glibc
import Synchronization

/// Random bits from the kernel's generator (`/dev/urandom`, the source `SystemRandomNumberGenerator` also
/// uses), fetched 4 KiB at a time: one system call per 256 task ids or attempt tokens instead of two each.
enum RandomBits {
    private struct Pool: ~Copyable {
        var words = [UInt64](repeating: 0, count: 512)
        var next = 512
    }

    private static let pool = Mutex(Pool())
    /// Opened once; -1 where there is no /dev/urandom (a bare chroot), and then each word is asked for alone.
    private static let device = open("/dev/urandom", O_RDONLY | O_CLOEXEC)

    /// 128 fresh random bits.
    static func next128() -> (UInt64, UInt64) {
        pool.withLock { pool in
            if pool.next + 2 > pool.words.count {
                refill(&pool.words)
                pool.next = 0
            }
            defer { pool.next += 2 }
            return (pool.words[pool.next], pool.words[pool.next + 1])
        }
    }

    /// 128 fresh random bits as 32 lowercase hex digits.
    static func hex128() -> String {
        let bits = next128()
        return String(unsafeUninitializedCapacity: 32) { text in
            for index in 0..<32 {
                let word = index < 16 ? bits.0 : bits.1
                let nibble = Int((word >> UInt64(60 - 4 * (index % 16))) & 0xf)
                text[index] = nibble < 10 ? UInt8(ascii: "0") + UInt8(nibble) : UInt8(ascii: "a") + UInt8(nibble - 10)
            }
            return 32
        }
    }

    private static func refill(_ words: inout [UInt64]) {
        let complete = words.withUnsafeMutableBytes { buffer -> Bool in
            guard device >= 0 else { return false }
            var filled = 0
            while filled < buffer.count {
                let got = read(device, buffer.baseAddress! + filled, buffer.count - filled)
                if got > 0 {
                    filled += got
                } else if got == 0 || errno != EINTR {
                    return false
                }
            }
            return true
        }
        guard !complete else { return }
        var generator = SystemRandomNumberGenerator()
        for index in words.indices { words[index] = generator.next() }
    }
}
