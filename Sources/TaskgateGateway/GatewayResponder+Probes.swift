import TaskgateCore
import TaskgateRedis

/// The bodies of the open answers that tell a client about the gateway itself: `GET /readyz`'s view of Redis'
/// settings and `GET /whoami`.
extension GatewayResponder {
    /// The `redis` member of `GET /readyz`: Redis' eviction policy and persistence as read now, whether they keep
    /// every acknowledged write, and what they risk; `readable: false` when Redis would not say.
    static func durability(_ durability: RedisDurability?) -> JSONValue {
        guard let durability, case .read(let policy, let appendOnly, let save) = durability.settings else {
            var detail = "Redis could not be asked"
            if case .unreadable(let answer)? = durability?.settings { detail = answer }
            return .object([
                JSONMember("readable", .bool(false)), JSONMember("detail", .string(detail)),
                JSONMember("durable", .null),
            ])
        }
        return .object([
            JSONMember("readable", .bool(true)),
            JSONMember("maxmemory_policy", .string(policy)),
            JSONMember("appendonly", .bool(appendOnly)),
            JSONMember("save", .string(save)),
            JSONMember("durable", .bool(durability.isDurable)),
            JSONMember("warnings", .array(durability.warnings.map { .string($0) })),
        ])
    }

    /// `GET /whoami`: whether the gateway requires tokens, whether the request's token is one of them, and the
    /// scopes it grants (all of them when none is required), so a client such as the dashboard can ask for a token
    /// and hide what it may not do. Always `200`: a refused token reads `authenticated: false` with no scopes.
    /// Cost: no Redis.
    static func whoami(tokens: BearerTokens?, authorization: String?) -> JSONValue {
        let granted = tokens == nil ? AccessScopes.everything : tokens?.scopes(authorization: authorization)
        let scopes = granted ?? []
        // The token file's names; `admin` is listed only where it grants everything, as it does.
        return .object([
            JSONMember("tokens_required", .bool(tokens != nil)),
            JSONMember("authenticated", .bool(granted != nil)),
            JSONMember(
                "scopes", .array(AccessScopes.names.filter { scopes.contains($0.1) }.map { .string($0.0) })),
        ])
    }
}
