import CCurl
import Glibc
import TaskgateCore

/// An outbound POST as ``OutboundHTTPClient`` sends it.
struct OutboundRequest: Sendable {
    /// Where it goes (`http://` or `https://`).
    var url: String
    /// Header lines besides those libcurl writes itself (Host, Content-Length).
    var headers: [(name: String, value: String)]
    /// The request body.
    var body: [UInt8]
    /// The most milliseconds to connect (TCP and TLS).
    var connectTimeoutMilliseconds: Int
    /// The most milliseconds for the whole exchange; 0 for none (the caller cancels instead).
    var timeoutMilliseconds: Int
    /// The most bytes of the answer's body kept; the rest is not read (its connection is closed).
    var maxBodyBytes: Int
    /// Decides each address the host resolved to just before a connection to it is opened; `nil` allows all.
    /// Connections are reused per host and port, so give every request of one client the same policy.
    var connectPolicy: (@Sendable (IPAddress) -> Bool)? = nil
}

extension OutboundRequest {
    /// `scheme://host:port` of `url`, for errors and logs: no user info, path or query, which may hold secrets
    /// (`https://user:pass@h/hook?key=...`). The port is the scheme's default when the URL names none.
    static func origin(of url: String) -> String {
        guard let colon = url.firstIndex(of: ":"), url[colon...].hasPrefix("://") else { return "(invalid URL)" }
        let scheme = url[..<colon].lowercased()
        let rest = url[url.index(colon, offsetBy: 3)...]
        var authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        let hasPort: Bool
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            hasPort = authority[close...].contains(":")
        } else {
            hasPort = authority.contains(":")
        }
        let port = scheme == "https" ? ":443" : ":80"
        return "\(scheme)://\(authority.lowercased())\(hasPort ? "" : port)"
    }
}

/// An answer: its status, the first bytes of its body, and the one header Taskgate reads.
struct OutboundResponse: Sendable {
    /// The HTTP status code.
    var status: Int
    /// The body, up to the request's ``OutboundRequest/maxBodyBytes``.
    var body: [UInt8]
    /// The value of `Retry-After`, if the answer had one.
    var retryAfter: String?
}

/// Why an outbound call got no answer: the connection was refused, timed out, TLS failed, ...
struct OutboundHTTPError: Error, CustomStringConvertible {
    /// libcurl's words for it.
    let description: String
    /// The address the request's ``OutboundRequest/connectPolicy`` refused, if that is why.
    var refusedAddress: IPAddress? = nil
}

/// One request in flight on the client's thread: the libcurl handle, the memory it points into (the body, the
/// header list, the error buffer) and what has been read so far.
///
/// Touched only by the client's thread from the moment it is added until it finishes, which is what makes the
/// unchecked conformance safe; the continuation is resumed exactly once, by ``finish(_:)``.
final class OutboundTransfer: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer
    let request: OutboundRequest
    /// The client's number for it, set when its thread takes it up.
    var id: UInt64 = 0
    private var continuation: CheckedContinuation<OutboundResponse, any Error>?
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
    private let bodyBytes: UnsafeMutableBufferPointer<UInt8>
    private var kept: [UInt8] = []
    private var retryAfter: String?
    /// `true` once the answer outgrew the limit and the transfer was stopped on purpose.
    private(set) var truncated = false
    /// The last address the connect policy refused.
    private var refusedAddress: IPAddress?

    init?(_ request: OutboundRequest, continuation: CheckedContinuation<OutboundResponse, any Error>) {
        guard let handle = curl_easy_init() else { return nil }
        self.handle = handle
        self.request = request
        self.continuation = continuation
        bodyBytes = .allocate(capacity: max(1, request.body.count))
        _ = bodyBytes.initialize(from: request.body)
        errorBuffer.initialize(to: 0)
        configure()
    }

    deinit {
        curl_easy_cleanup(handle)
        curl_slist_free_all(headerList)
        errorBuffer.deallocate()
        bodyBytes.deallocate()
    }

    private func configure() {
        let context = Unmanaged.passUnretained(self).toOpaque()
        set(CURLOPT_PRIVATE, context)
        set(CURLOPT_URL, request.url)
        // Only HTTP and HTTPS, never redirected (a 3xx is an answer), no proxy from the environment (the allow lists
        // name the hosts called), no decompression, no signals (threads), and what went wrong in words.
        set(CURLOPT_PROTOCOLS_STR, "http,https")
        set(CURLOPT_FOLLOWLOCATION, 0)
        set(CURLOPT_PROXY, "")
        set(CURLOPT_NOSIGNAL, 1)
        set(CURLOPT_ERRORBUFFER, UnsafeRawPointer(errorBuffer))
        set(CURLOPT_CONNECTTIMEOUT_MS, request.connectTimeoutMilliseconds)
        set(CURLOPT_TIMEOUT_MS, request.timeoutMilliseconds)
        set(CURLOPT_TCP_KEEPALIVE, 1)
        set(CURLOPT_POST, 1)
        set(CURLOPT_POSTFIELDS, UnsafeRawPointer(bodyBytes.baseAddress!))
        _ = taskgate_curl_set_offset(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count))
        // libcurl would add "Expect: 100-continue" to larger bodies and wait for an interim answer: an empty value
        // leaves the header out.
        for line in request.headers.map({ "\($0.name): \($0.value)" }) + ["Expect:"] {
            headerList = curl_slist_append(headerList, line)
        }
        set(CURLOPT_HTTPHEADER, UnsafeRawPointer(headerList))
        _ = taskgate_curl_set_function(handle, CURLOPT_WRITEFUNCTION, Self.receiveBody)
        set(CURLOPT_WRITEDATA, context)
        _ = taskgate_curl_set_function(handle, CURLOPT_HEADERFUNCTION, Self.receiveHeader)
        set(CURLOPT_HEADERDATA, context)
        if request.connectPolicy != nil {
            _ = taskgate_curl_set_opensocket(handle, Self.openSocket)
            set(CURLOPT_OPENSOCKETDATA, context)
        }
    }

    private func set(_ option: CURLoption, _ value: Int) {
        _ = taskgate_curl_set_long(handle, option, value)
    }

    private func set(_ option: CURLoption, _ value: UnsafeRawPointer?) {
        _ = taskgate_curl_set_pointer(handle, option, value)
    }

    private func set(_ option: CURLoption, _ value: String) {
        // libcurl copies string options (CURLOPT_URL, ...) as it sets them.
        _ = value.withCString { taskgate_curl_set_pointer(handle, option, $0) }
    }

    /// Ends the call: an answer when libcurl finished (or was stopped at the body limit), else the error.
    func finish(_ result: CURLcode) {
        let outcome: Result<OutboundResponse, any Error>
        if result == CURLE_OK || (result == CURLE_WRITE_ERROR && truncated) {
            outcome = .success(
                OutboundResponse(
                    status: Int(taskgate_curl_response_code(handle)), body: kept, retryAfter: retryAfter))
        } else {
            let detail = String(cString: errorBuffer)
            outcome = .failure(
                OutboundHTTPError(
                    description: detail.isEmpty ? String(cString: curl_easy_strerror(result)) : detail,
                    refusedAddress: refusedAddress))
        }
        resume(outcome)
    }

    /// Ends the call without an answer (cancelled, or the client stopped).
    func fail(_ error: any Error) {
        resume(.failure(error))
    }

    private func resume(_ outcome: Result<OutboundResponse, any Error>) {
        continuation?.resume(with: outcome)
        continuation = nil
    }

    private static let receiveBody: taskgate_curl_data_fn = { data, size, count, context in
        let transfer = Unmanaged<OutboundTransfer>.fromOpaque(context!).takeUnretainedValue()
        let total = size * count
        let room = transfer.request.maxBodyBytes - transfer.kept.count
        if let data, room > 0 {
            data.withMemoryRebound(to: UInt8.self, capacity: total) {
                transfer.kept.append(contentsOf: UnsafeBufferPointer(start: $0, count: min(room, total)))
            }
        }
        guard total <= room else {
            // Past the limit: a short count makes libcurl stop reading (CURLE_WRITE_ERROR) and close the connection.
            transfer.truncated = true
            return 0
        }
        return total
    }

    /// Opens a socket for an address unless the connect policy refuses it (then libcurl tries the next address, or
    /// fails with "couldn't connect").
    private static let openSocket: taskgate_curl_opensocket_fn = { context, _, address in
        let transfer = Unmanaged<OutboundTransfer>.fromOpaque(context!).takeUnretainedValue()
        guard let address, let policy = transfer.request.connectPolicy else { return CURL_SOCKET_BAD }
        let family = address.pointee.family
        // The sockaddr sits at the end of libcurl's struct, as long as its family needs (28 bytes for IPv6, more
        // than struct sockaddr's 16): read it through the raw pointer.
        let sockaddrStart = UnsafeRawPointer(address) + MemoryLayout<curl_sockaddr>.offset(of: \.addr)!
        let ip: IPAddress?
        switch family {
        case AF_INET:
            let v4 = sockaddrStart.loadUnaligned(as: sockaddr_in.self)
            ip = withUnsafeBytes(of: v4.sin_addr) { IPAddress(bytes: Array($0)) }
        case AF_INET6:
            let v6 = sockaddrStart.loadUnaligned(as: sockaddr_in6.self)
            ip = withUnsafeBytes(of: v6.sin6_addr) { IPAddress(bytes: Array($0)) }
        default:
            ip = nil
        }
        guard let ip, policy(ip) else {
            transfer.refusedAddress = ip
            return CURL_SOCKET_BAD
        }
        return socket(family, address.pointee.socktype | Int32(SOCK_CLOEXEC.rawValue), address.pointee.`protocol`)
    }

    private static let receiveHeader: taskgate_curl_data_fn = { data, size, count, context in
        let transfer = Unmanaged<OutboundTransfer>.fromOpaque(context!).takeUnretainedValue()
        let total = size * count
        guard let data else { return total }
        let line = data.withMemoryRebound(to: UInt8.self, capacity: total) {
            String(decoding: UnsafeBufferPointer(start: $0, count: total), as: UTF8.self)
        }
        if line.hasPrefix("HTTP/") {
            // A new answer (after a 1xx): its headers replace the earlier ones.
            transfer.retryAfter = nil
        } else if let colon = line.firstIndex(of: ":"), line[..<colon].lowercased() == "retry-after" {
            transfer.retryAfter = String(line[line.index(after: colon)...]).trimmed(of: " \t\r\n")
        }
        return total
    }
}

extension String {
    fileprivate func trimmed(of set: String) -> String {
        var text = Substring(self)
        while let first = text.first, set.contains(first) { text = text.dropFirst() }
        while let last = text.last, set.contains(last) { text = text.dropLast() }
        return String(text)
    }
}
