import TaskgateCore
import TaskgateRedis
import Testing

@Suite(.dedicatedThreads) struct TaskStoreErrorTests {
    @Test(arguments: [
        RedisError(.io, "reading a reply: Connection reset by peer"),
        RedisError(.connectionFailed, "Connection refused"),
        RedisError(.server, "OOM command not allowed when used memory > 'maxmemory'."),
        RedisError(.server, "LOADING Redis is loading the dataset in memory"),
        RedisError(.server, "READONLY You can't write against a read only replica."),
        RedisError(.server, "BUSY Redis is busy running a script."),
    ])
    func transientRedisErrorsMeanUnavailable(_ error: RedisError) {
        #expect(TaskStoreError(error).code == .unavailable)
    }

    @Test(arguments: [
        RedisError(.server, "ERR wrong number of arguments"),
        RedisError(.server, "WRONGTYPE Operation against a key holding the wrong kind of value"),
        RedisError(.protocolViolation, "unexpected reply"),
    ])
    func otherRedisErrorsAreFailures(_ error: RedisError) {
        #expect(TaskStoreError(error).code == .failed)
    }
}
