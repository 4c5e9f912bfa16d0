import TaskgateHTTP

/// What a replayed `Idempotency-Key` shows, by the scopes of the token that replays it.
///
/// Keys are scoped per queue, not per token: a client that retries with a new token (rotated, or one of a pool)
/// must still get its first task back instead of a second one, so keys are not namespaced per token. What a
/// replay returns is limited instead. A token with `read` could read the task anyway and gets it whole, as before;
/// a token without `read` (submit-only, the kind handed to many clients) gets the task's `id` and `queue` only,
/// and a key reused with a different body does not name the task it created. So a submit-only client that guesses
/// another's key learns neither the task's payload, its state, its result nor its error. Without tokens every
/// caller may read.
///
/// Cost: nothing on a first submission; on a replay, one more constant-time pass over the tokens.
struct ReplayScope: Sendable {
    /// The gateway's tokens; `nil` when access is open.
    let tokens: BearerTokens?

    /// `true` when `request`'s token has the `read` scope, or no token is required.
    func mayRead(_ request: HTTPRequest) -> Bool {
        guard let tokens else { return true }
        return tokens.scopes(authorization: request.header("authorization"))?.contains(.read) ?? false
    }
}
