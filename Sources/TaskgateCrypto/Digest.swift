import COpenSSL

/// The digests Taskgate uses, from OpenSSL's libcrypto (Debian's prebuilt `libssl3`, as libmicrohttpd and hiredis
/// are prebuilt): SHA1, which names a Redis script, and HMAC-SHA256, which signs webhooks.
public enum Digest {
    /// The SHA1 of `bytes` (20 bytes).
    public static func sha1(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 20)
        let done = bytes.withUnsafeBytes { input in
            out.withUnsafeMutableBufferPointer { taskgate_sha1(input.baseAddress, input.count, $0.baseAddress) }
        }
        // Fails only when libcrypto cannot allocate a context: nothing sensible can go on.
        precondition(done == 1, "libcrypto could not compute a SHA1")
        return out
    }

    /// The HMAC-SHA256 of `message` under `key` (32 bytes).
    public static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        let done = key.withUnsafeBytes { key in
            message.withUnsafeBufferPointer { message in
                out.withUnsafeMutableBufferPointer {
                    taskgate_hmac_sha256(
                        key.baseAddress, Int32(key.count), message.baseAddress, message.count, $0.baseAddress)
                }
            }
        }
        precondition(done == 1, "libcrypto could not compute an HMAC-SHA256")
        return out
    }

    /// Whether `a` and `b` are equal, in time that depends on their length only (`CRYPTO_memcmp`), as a check of a
    /// signature must be.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        guard !a.isEmpty else { return true }
        let difference = a.withUnsafeBytes { a in
            b.withUnsafeBytes { b in CRYPTO_memcmp(a.baseAddress, b.baseAddress, a.count) }
        }
        return difference == 0
    }

    /// `bytes` as lowercase hexadecimal.
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
