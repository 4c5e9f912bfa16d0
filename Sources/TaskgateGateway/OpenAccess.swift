import TaskgateCore
import TaskgateHTTP

/// What a gateway without API tokens still refuses: requests that name it by a host it does not know (DNS
/// rebinding), and requests a web page of another origin sent (cross-site request forgery).
///
/// With no token, anyone who reaches the gateway controls it, so `serve` only starts that way on a loopback
/// address unless the operator says `--allow-unauthenticated`. Loopback is not enough on its own: a web page the
/// operator opens can send requests to `127.0.0.1` (`fetch` in `no-cors` mode posts without asking), and a page
/// whose name its owner re-points at `127.0.0.1` (DNS rebinding) can read the answers too. Browsers always send the
/// name they resolved in `Host`, and send `Origin` on every cross-origin request that changes something, so:
/// - **`Host`** must be a loopback name (`localhost`, `*.localhost`) or address (`127.0.0.0/8`, `::1`), or one of
///   ``allowedHosts``; any other gets `421`. A request without `Host` (HTTP/1.0, no browser) goes on.
/// - **`Origin`**, when a request that may change something (any method but `GET` and `HEAD`) sends it, must be
///   the gateway's own (its `host[:port]` equals `Host`); any other, `null` included, gets `403` and nothing is
///   done.
///
/// With tokens none of this is needed (a browser never attaches a bearer token on its own), and none is checked.
public struct OpenAccess: Sendable {
    /// Host names and addresses besides the loopback ones that requests may name in `Host`, lowercased, no port.
    public let allowedHosts: Set<String>
    /// What `/readyz` says when the gateway is open beyond loopback (`--allow-unauthenticated`); `nil` on loopback.
    public let warning: String?

    /// Creates the policy; `allowedHosts` are names or addresses (`taskgate.internal`, `10.0.0.5`, `::1`), case and
    /// IPv6 brackets ignored (``hostPart(of:portAllowed:)`` returns `nil` for an entry that is neither). `exposed`
    /// says the gateway listens beyond loopback without tokens, which `/readyz` then warns about.
    public init(allowedHosts: [String] = [], exposed: Bool = false) {
        self.allowedHosts = Set(allowedHosts.compactMap { Self.hostPart(of: $0, portAllowed: false) })
        self.warning =
            exposed
            ? "no API token is required and the gateway listens beyond loopback (--allow-unauthenticated): "
                + "anyone who reaches it controls every queue"
            : nil
    }

    /// The problem a request gets (`421` for its `Host`, `403` for its `Origin`), or `nil` to go on. O(1).
    func refusal(_ head: HTTPRequest) -> Problem? {
        let host = head.header("host")
        if let host, !Self.isPlainLoopback(host) {
            guard let name = Self.hostPart(of: host, portAllowed: true), isAllowed(name) else {
                return Problem.misdirected(host: host)
            }
        }
        // A read cannot be forged usefully: a page of another origin cannot read the answer (no CORS), and DNS
        // rebinding, which could, is the Host check's.
        if head.method != "GET", head.method != "HEAD", let origin = head.header("origin") {
            guard let host, let authority = Self.authority(ofOrigin: origin),
                authority == host.lowercased()
            else {
                return Problem.crossOrigin(origin)
            }
        }
        return nil
    }

    /// `true` for `127.0.0.1` or `localhost` (any case), with or without `:port`: what nearly every request to a
    /// tokenless gateway names, decided over its bytes with no allocation (this runs on every request; the general
    /// parse below copies and lowercases).
    static func isPlainLoopback(_ host: String) -> Bool {
        var utf8 = host.utf8[...]
        let names: [StaticString] = ["127.0.0.1", "localhost"]
        for name in names {
            let count = name.utf8CodeUnitCount
            guard utf8.count >= count else { continue }
            let matches = name.withUTF8Buffer { expected in
                zip(utf8.prefix(count), expected).allSatisfy { byte, lower in
                    (byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte) == lower
                }
            }
            guard matches else { continue }
            utf8 = utf8.dropFirst(count)
            guard let colon = utf8.first else { return true }
            guard colon == UInt8(ascii: ":") else { return false }
            let port = utf8.dropFirst()
            return !port.isEmpty && port.count <= 5 && port.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
        }
        return false
    }

    /// `true` for a loopback name or address, or one the operator allowed.
    private func isAllowed(_ name: String) -> Bool {
        if name == "localhost" || name.hasSuffix(".localhost") || allowedHosts.contains(name) { return true }
        guard let address = IPAddress(name) else { return false }
        return address.isLoopback
    }

    /// The host of `host[:port]` or `[v6][:port]`, lowercased, without brackets; `nil` when it is not one.
    public static func hostPart(of text: String, portAllowed: Bool) -> String? {
        let lowered = text.lowercased()
        var host = Substring(lowered)
        var port: Substring?
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let rest = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            guard IPAddress(String(host))?.isIPv6 == true else { return nil }
            if !rest.isEmpty {
                guard rest.first == ":" else { return nil }
                port = rest.dropFirst()
            }
        } else if host.filter({ $0 == ":" }).count == 1, let colon = host.firstIndex(of: ":") {
            port = host[host.index(after: colon)...]
            host = host[..<colon]
        } else if host.contains(":") {
            // A bare IPv6 address: allowed in a list, never in a Host header (RFC 3986 brackets it).
            guard !portAllowed, IPAddress(String(host))?.isIPv6 == true else { return nil }
        }
        if let port {
            guard portAllowed, !port.isEmpty, port.count <= 5, port.allSatisfy(\.isASCII), port.allSatisfy(\.isNumber)
            else { return nil }
        }
        guard !host.isEmpty,
            host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "." || $0 == ":") })
        else { return nil }
        return String(host)
    }

    /// The `host[:port]` of a serialized origin (`http://127.0.0.1:8080`), lowercased; `nil` for `null` and
    /// anything that is not `scheme://authority`.
    static func authority(ofOrigin origin: String) -> String? {
        let lowered = origin.lowercased()
        guard let colon = lowered.firstIndex(of: ":"), lowered[colon...].hasPrefix("://") else { return nil }
        let scheme = lowered[..<colon]
        let authority = lowered[lowered.index(colon, offsetBy: 3)...]
        guard !scheme.isEmpty, scheme.allSatisfy({ $0.isASCII && ($0.isLetter || $0 == "+" || $0 == "-") }),
            !authority.isEmpty, !authority.contains("/"), !authority.contains("@")
        else { return nil }
        return String(authority)
    }
}
