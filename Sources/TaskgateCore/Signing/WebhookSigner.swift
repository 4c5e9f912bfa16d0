import FoundationEssentials
import TaskgateCrypto

/// Signs outgoing HTTP calls the way the Standard Webhooks specification does, so a receiver can check that a
/// call came from Taskgate and was not replayed long after.
///
/// The signed content is `"<webhook-id>.<webhook-timestamp>.<body>"`; the signature is its HMAC-SHA256 under
/// each secret, sent as `webhook-signature: v1,<base64> v1,<base64> ...` (one per secret, so secrets can be
/// rotated: add the new one, move receivers over, drop the old one). A secret written `whsec_<base64>` is the
/// key those bytes decode to, as the specification's libraries do; any other text is used as its UTF-8 bytes.
/// Used by HTTP push targets and, later, completion webhooks: there is one signing implementation.
public struct WebhookSigner: Sendable {
    private let keys: [[UInt8]]

    /// Creates a signer from one or more secrets; throws when none is given or a `whsec_` secret is not base64.
    public init(secrets: [String]) throws(WebhookSignerError) {
        let kept = secrets.map { $0.trimmingASCIIWhitespace }.filter { !$0.isEmpty }
        guard !kept.isEmpty else { throw WebhookSignerError(.noSecret, "no signing secret given") }
        var keys: [[UInt8]] = []
        for secret in kept {
            if secret.hasPrefix("whsec_") {
                guard let bytes = Data(base64Encoded: String(secret.dropFirst(6))), !bytes.isEmpty else {
                    throw WebhookSignerError(.invalidSecret, "a whsec_ signing secret must be followed by base64")
                }
                keys.append(Array(bytes))
            } else {
                keys.append(Array(secret.utf8))
            }
        }
        self.keys = keys
    }

    /// Reads secrets separated by spaces, commas or newlines (`TASKGATE_SIGNING_SECRET`, a secret file).
    public init(list: String) throws(WebhookSignerError) {
        try self.init(secrets: list.split(whereSeparator: { $0 == "," || $0.isWhitespace }).map(String.init))
    }

    /// How many secrets sign each call.
    public var count: Int { keys.count }

    /// The `webhook-signature` value for a message: `v1,<base64>` per secret, separated by spaces.
    public func signature(id: String, timestamp: Int, body: [UInt8]) -> String {
        let content = Self.signedContent(id: id, timestamp: timestamp, body: body)
        return keys.map { key in
            "v1," + Data(Digest.hmacSHA256(key: key, message: content)).base64EncodedString()
        }.joined(separator: " ")
    }

    /// The three Standard Webhooks headers for a message.
    public func headers(id: String, timestamp: Int, body: [UInt8]) -> [(name: String, value: String)] {
        [
            ("webhook-id", id), ("webhook-timestamp", String(timestamp)),
            ("webhook-signature", signature(id: id, timestamp: timestamp, body: body)),
        ]
    }

    /// `true` when one of the `v1` signatures in `header` is valid for the message under one of the secrets.
    ///
    /// Compared in constant time (`CRYPTO_memcmp`), as a receiver must. The timestamp's age is the receiver's to
    /// check.
    public func verify(id: String, timestamp: Int, body: [UInt8], signatureHeader header: String) -> Bool {
        let content = Self.signedContent(id: id, timestamp: timestamp, body: body)
        for candidate in header.split(separator: " ") where candidate.hasPrefix("v1,") {
            guard let mac = Data(base64Encoded: String(candidate.dropFirst(3))).map(Array.init) else { continue }
            for key in keys where Digest.constantTimeEqual(mac, Digest.hmacSHA256(key: key, message: content)) {
                return true
            }
        }
        return false
    }

    private static func signedContent(id: String, timestamp: Int, body: [UInt8]) -> [UInt8] {
        var content = Array(id.utf8)
        content.reserveCapacity(content.count + body.count + 24)
        content.append(UInt8(ascii: "."))
        content.append(contentsOf: String(timestamp).utf8)
        content.append(UInt8(ascii: "."))
        content.append(contentsOf: body)
        return content
    }
}

extension String {
    fileprivate var trimmingASCIIWhitespace: String {
        var text = Substring(self)
        while let first = text.first, first.isWhitespace { text = text.dropFirst() }
        while let last = text.last, last.isWhitespace { text = text.dropLast() }
        return String(text)
    }
}
