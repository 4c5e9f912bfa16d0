/// A `callback_url`, checked: an absolute `http` or `https` URL with a host, no user info, at most
/// ``maxLength`` bytes, nothing but printable ASCII.
public struct CallbackURL: Sendable, Equatable {
    /// The longest URL accepted, in bytes.
    public static let maxLength = 2_048

    /// The URL as given.
    public let rawValue: String
    /// `http` or `https`.
    public let scheme: String
    /// The host, lower-cased; an IPv6 literal without its brackets.
    public let host: String
    /// The port, if the URL names one.
    public let port: Int?

    /// `scheme://host:port`, the port the scheme's default when the URL names none: what records and logs name,
    /// never the path or query.
    public var origin: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return "\(scheme)://\(name):\(port ?? (scheme == "https" ? 443 : 80))"
    }

    /// Parses `text`; `nil` when it is not a URL Taskgate will call.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= Self.maxLength,
            bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        else { return nil }
        let lower = text.lowercased()
        let scheme: String
        if lower.hasPrefix("https://") {
            scheme = "https"
        } else if lower.hasPrefix("http://") {
            scheme = "http"
        } else {
            return nil
        }
        let rest = bytes.dropFirst(scheme.utf8.count + 3)
        let end = rest.firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }
        let authority = rest[..<(end ?? rest.endIndex)]
        guard !authority.isEmpty, !authority.contains(UInt8(ascii: "@")) else { return nil }
        var host: ArraySlice<UInt8>
        var portText: ArraySlice<UInt8>?
        if authority.first == UInt8(ascii: "[") {
            guard let close = authority.firstIndex(of: UInt8(ascii: "]")) else { return nil }
            host = authority[(authority.startIndex + 1)..<close]
            let after = authority[(close + 1)...]
            if !after.isEmpty {
                guard after.first == UInt8(ascii: ":") else { return nil }
                portText = after.dropFirst()
            }
            guard IPAddress(String(decoding: host, as: UTF8.self))?.isIPv6 == true else { return nil }
        } else {
            if let colon = authority.firstIndex(of: UInt8(ascii: ":")) {
                host = authority[..<colon]
                portText = authority[(colon + 1)...]
            } else {
                host = authority
            }
            let allowed = host.allSatisfy {
                QueueName.isAllowed($0) && $0 != UInt8(ascii: "_")
            }
            guard !host.isEmpty, host.count <= 253, allowed else { return nil }
        }
        var port: Int?
        if let portText {
            guard let value = Int(String(decoding: portText, as: UTF8.self)), (1...65_535).contains(value)
            else { return nil }
            port = value
        }
        self.rawValue = text
        self.scheme = scheme
        self.host = String(decoding: host, as: UTF8.self).lowercased()
        self.port = port
    }
}
