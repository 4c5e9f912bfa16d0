import Glibc

/// An IPv4 or IPv6 address as 4 or 16 bytes, parsed with `inet_pton`.
public struct IPAddress: Sendable, Hashable {
    /// The address in network order: 4 bytes for IPv4, 16 for IPv6.
    public let bytes: [UInt8]

    /// `true` for an IPv6 address.
    public var isIPv6: Bool { bytes.count == 16 }

    /// Parses a literal (`10.0.0.1`, `::1`); `nil` for anything else, host names included.
    public init?(_ text: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            bytes = withUnsafeBytes(of: &v6) { Array($0) }
            return
        }
        return nil
    }

    /// An address from its 4 or 16 bytes in network order; `nil` for any other count.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// The IPv4 address inside an IPv4-mapped IPv6 one (`::ffff:a.b.c.d`), else this address.
    public var unmapped: IPAddress {
        guard bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF else {
            return self
        }
        return IPAddress(uncheckedBytes: Array(bytes[12...]))
    }

    /// `true` for `127.0.0.0/8` and `::1` (IPv4-mapped too).
    public var isLoopback: Bool {
        let address = unmapped
        if address.bytes.count == 4 { return address.bytes[0] == 127 }
        return address.bytes == [UInt8](repeating: 0, count: 15) + [1]
    }

    /// `true` for the addresses a callback must not reach by a name's resolution alone: loopback, link-local
    /// (`169.254.0.0/16`, `fe80::/10`, where cloud metadata services answer), unspecified (`0.0.0.0/8`, `::`), and
    /// the metadata services outside those (`fd00:ec2::254`, `100.100.100.200`). IPv4-mapped forms included.
    public var isInternalOnly: Bool {
        let address = unmapped
        if isLoopback { return true }
        let b = address.bytes
        if b.count == 4 {
            return b[0] == 0 || (b[0] == 169 && b[1] == 254) || b == [100, 100, 100, 200]
        }
        if b.allSatisfy({ $0 == 0 }) { return true }
        if b[0] == 0xFE && (b[1] & 0xC0) == 0x80 { return true }
        return b == [0xFD, 0x00, 0x0E, 0xC2] + [UInt8](repeating: 0, count: 10) + [0x02, 0x54]
    }

    private init(uncheckedBytes: [UInt8]) {
        self.bytes = uncheckedBytes
    }

    /// `true` when the first `bits` bits equal those of `network` (same family).
    func matches(_ network: IPAddress, bits: Int) -> Bool {
        guard bytes.count == network.bytes.count else { return false }
        var remaining = bits
        for (mine, theirs) in zip(bytes, network.bytes) {
            guard remaining > 0 else { return true }
            let mask: UInt8 = remaining >= 8 ? 0xFF : ~(0xFF >> UInt8(remaining))
            if mine & mask != theirs & mask { return false }
            remaining -= 8
        }
        return true
    }
}
