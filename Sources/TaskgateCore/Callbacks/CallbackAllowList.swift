/// The hosts a completion callback may go to (`--callback-allow`): a guard against server-side request forgery.
///
/// Entries, comma- or space-separated: a host name (`hooks.example.com`, matched exactly), a suffix starting
/// with a dot (`.example.com` matches every name under `example.com`, not `example.com` itself), an IP address
/// or a CIDR block (`10.0.0.0/8`, `::1/128`). A name is matched against name entries only and an IP literal
/// against address entries only: no name is resolved to decide, so what is checked is what is called.
public struct CallbackAllowList: Sendable, Equatable {
    private var names: Set<String> = []
    private var suffixes: [String] = []
    private var networks: [Network] = []

    private struct Network: Sendable, Equatable {
        let address: IPAddress
        let bits: Int
    }

    /// An allow list that allows nothing (callbacks refused).
    public static let none = CallbackAllowList()

    private init() {}

    /// Parses entries; throws for one that is none of the accepted forms.
    public init(_ text: String) throws(CallbackAllowListError) {
        let entries = text.split { $0 == "," || $0 == " " || $0 == "\n" || $0 == "\t" }.map { $0.lowercased() }
        for entry in entries {
            if let slash = entry.firstIndex(of: "/") {
                guard let address = IPAddress(String(entry[..<slash])),
                    let bits = Int(entry[entry.index(after: slash)...]),
                    (0...(address.bytes.count * 8)).contains(bits)
                else { throw CallbackAllowListError(entry: entry) }
                networks.append(Network(address: address, bits: bits))
            } else if let address = IPAddress(entry) {
                networks.append(Network(address: address, bits: address.bytes.count * 8))
            } else if entry.hasPrefix("."), entry.count > 1, CallbackURL("http://x" + entry) != nil {
                suffixes.append(entry)
            } else if CallbackURL("http://" + entry) != nil, !entry.contains(":") {
                names.insert(entry)
            } else {
                throw CallbackAllowListError(entry: entry)
            }
        }
    }

    /// `true` when no entry was given: every callback is refused.
    public var isEmpty: Bool { names.isEmpty && suffixes.isEmpty && networks.isEmpty }

    /// Whether a callback may connect to `address`, what its host resolved to (checked again just before the
    /// connection is made, so a name re-pointed after the first check is caught too): any address but the
    /// internal-only ones (``IPAddress/isInternalOnly``: loopback, link-local, metadata services), which only an
    /// address or CIDR entry that contains them allows. O(entries).
    public func allowsConnection(to address: IPAddress) -> Bool {
        guard address.isInternalOnly else { return true }
        let candidates = address.unmapped == address ? [address] : [address, address.unmapped]
        return candidates.contains { candidate in
            networks.contains { candidate.matches($0.address, bits: $0.bits) }
        }
    }

    /// Whether a callback may go to `url`'s host.
    public func allows(_ url: CallbackURL) -> Bool {
        if let address = IPAddress(url.host) {
            return networks.contains { address.matches($0.address, bits: $0.bits) }
        }
        let host = url.host.hasSuffix(".") ? String(url.host.dropLast()) : url.host
        return names.contains(host) || suffixes.contains { host.hasSuffix($0) }
    }
}

/// An entry of `--callback-allow` that is not a host name, a `.suffix`, an IP address or a CIDR block.
public struct CallbackAllowListError: Error, Sendable, CustomStringConvertible {
    /// The entry refused.
    public let entry: String

    public var description: String {
        "callback allow-list entry \"\(entry)\" is not a host name, a .suffix, an IP address or a CIDR block"
    }
}
