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
