import Glibc

/// The server's own bound, listening TCP socket; libmicrohttpd is handed the connections, never the listener.
struct ListeningSocket: Sendable {
    /// The non-blocking listening descriptor.
    let descriptor: Int32
    /// The port it is bound to (the one the kernel picked, when port 0 was asked for).
    let port: Int

    /// How many connections the kernel queues while the server is not accepting (at its connection cap).
    static let backlog: Int32 = 1024

    /// Binds `address` and listens; IPv6 addresses listen on IPv6 only, as libmicrohttpd's own listener did.
    static func open(_ address: SocketAddress) throws(HTTPServerError) -> ListeningSocket {
        var address = address
        let family = address.isIPv6 ? AF_INET6 : AF_INET
        let descriptor = socket(
            family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else {
            throw HTTPServerError(.startFailed, "cannot create a socket: \(String(cString: strerror(errno)))")
        }
        var on: Int32 = 1
        _ = setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        if address.isIPv6 {
            _ = setsockopt(descriptor, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &on, socklen_t(MemoryLayout<Int32>.size))
        }
        let length = address.length
        let bound = address.withSockaddrPointer { bind(descriptor, $0.assumingMemoryBound(to: sockaddr.self), length) }
        guard bound == 0, listen(descriptor, backlog) == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw HTTPServerError(.startFailed, "cannot listen: \(reason)")
        }
        var local = sockaddr_storage()
        var localLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &localLength) }
        }
        guard named == 0 else {
            close(descriptor)
            throw HTTPServerError(.startFailed, "cannot read the bound port: \(String(cString: strerror(errno)))")
        }
        let port = withUnsafeBytes(of: local) { raw -> UInt16 in
            // sin_port and sin6_port sit at the same offset, right after the family.
            raw.load(fromByteOffset: MemoryLayout<sa_family_t>.size, as: UInt16.self)
        }
        return ListeningSocket(descriptor: descriptor, port: Int(UInt16(bigEndian: port)))
    }
}
