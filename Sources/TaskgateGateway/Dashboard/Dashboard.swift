import TaskgateHTTP

/// The operator's live page: `GET /` and `GET /dashboard`, with its script, style sheet and icon, compiled into
/// the binary (SwiftPM's `embedInCode`), so the gateway needs no files beside it and no build step.
///
/// The page holds no data: it reads and changes everything through the public API, with the token its user gives
/// it. So its files are served without a token, under a Content-Security-Policy that lets the page load nothing
/// and talk to no host but this gateway. Cost: nothing in Redis; each answer is a constant byte array, and a
/// `304` when the browser's copy is current (`If-None-Match`).
enum Dashboard {
    /// One file of the page.
    struct Asset: Sendable {
        let contentType: String
        let body: [UInt8]
        /// A strong validator: a hash of the body, so a new build's file is fetched again.
        let etag: String

        init(_ contentType: String, _ body: [UInt8]) {
            self.contentType = contentType
            self.body = body
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a, 64 bits
            for byte in body {
                hash ^= UInt64(byte)
                hash &*= 0x100_0000_01b3
            }
            etag = "\"" + String(hash, radix: 16) + "\""
        }
    }

    /// The page may run its own script and style sheet and call this gateway, and nothing else: no inline code,
    /// no other host, no frames, no form posts.
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    static let page = Asset("text/html; charset=utf-8", PackageResources.index_html)

    /// The page's script: ES modules, one concern each, `app.js` first (it imports the others).
    static let modules: [String: [UInt8]] = [
        "app.js": PackageResources.app_js, "state.js": PackageResources.state_js, "api.js": PackageResources.api_js,
        "dom.js": PackageResources.dom_js, "event-reader.js": PackageResources.event_reader_js,
        "token.js": PackageResources.token_js, "actions.js": PackageResources.actions_js,
        "queues.js": PackageResources.queues_js, "queue-view.js": PackageResources.queue_view_js,
        "task-view.js": PackageResources.task_view_js, "schedules.js": PackageResources.schedules_js,
        "batch-view.js": PackageResources.batch_view_js,
    ]

    /// Every path the page is served under, with its file.
    static let assets: [String: Asset] = {
        var assets = [
            "/": page,
            "/dashboard": page,
            "/dashboard/app.css": Asset("text/css; charset=utf-8", PackageResources.app_css),
            "/dashboard/icon.svg": Asset("image/svg+xml", PackageResources.icon_svg),
        ]
        for (name, body) in modules {
            assets["/dashboard/" + name] = Asset("text/javascript; charset=utf-8", body)
        }
        return assets
    }()

    /// The paths open without a token.
    static var paths: Set<String> { Set(assets.keys) }

    /// Adds a `GET` route (and so `HEAD`) for every file.
    static func register(on router: inout Router) {
        for (path, asset) in assets {
            router.add("GET", path) { request, _ in response(asset, ifNoneMatch: request.header("if-none-match")) }
        }
    }

    /// The file, or `304 Not Modified` when `ifNoneMatch` names its current ETag (or is `*`).
    static func response(_ asset: Asset, ifNoneMatch: String?) -> HTTPResponse {
        var headers: [(name: String, value: String)] = [
            ("Content-Type", asset.contentType),
            ("Content-Security-Policy", contentSecurityPolicy),
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "no-referrer"),
            // Kept, but checked with the gateway each time: an upgraded gateway serves its own page at once.
            ("Cache-Control", "no-cache"),
            ("ETag", asset.etag),
        ]
        if let ifNoneMatch,
            ifNoneMatch.split(separator: ",").contains(where: {
                let tag = String($0.filter { $0 != " " && $0 != "\t" })
                return tag == "*" || tag == asset.etag || tag == "W/" + asset.etag
            })
        {
            headers.removeFirst()
            return HTTPResponse(status: 304, headers: headers)
        }
        return HTTPResponse(status: 200, headers: headers, body: asset.body)
    }
}
