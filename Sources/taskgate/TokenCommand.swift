import ArgumentParser
import TaskgateGateway

/// `taskgate token`: prints a new API token, 32 random bytes as 64 hex digits, for a token file or
/// `TASKGATE_API_TOKENS`.
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Print a new random API token (32 bytes from the kernel's generator, as 64 hex digits).",
        discussion: "taskgate token --scope admin >> tokens; taskgate serve --api-token-file tokens")

    @Option(help: "Scopes to prefix (submit, read, worker, admin; comma-separated), for a token file line.")
    var scope: String?

    func run() throws {
        if let scope, !AccessScopes.isScopeList(scope) {
            throw ValidationError("--scope: '\(scope)' is not a list of submit, read, worker, admin")
        }
        // SystemRandomNumberGenerator reads getrandom(2) on Linux: the kernel's cryptographic generator.
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let token = bytes.map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
        }.joined()
        print(scope.map { "\($0):\(token)" } ?? token)
    }
}
