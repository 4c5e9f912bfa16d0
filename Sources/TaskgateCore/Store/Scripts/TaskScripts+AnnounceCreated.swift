import TaskgateRedis

extension TaskScripts {
    /// KEYS: none. ARGV: the event channel, the time the tasks were stored (ms), and the tasks as one text, a line
    /// `<id> <type>` each (`<id> ` for a task without a type; neither ids nor types hold spaces or newlines).
    ///
    /// The last step of an enqueue transaction (``RedisTaskStore/enqueueTransaction(_:now:)``): publishes a
    /// `created` event per task it names, all in one message, when anyone listens on the channel (one `PUBSUB`
    /// call otherwise, and nothing built). Writes nothing. Returns the number of events published. The tasks
    /// come as one argument, split only when someone listens: one argument per id and type cost Redis about
    /// 1.7 us a task in converting them to Lua strings, for nothing in the usual case.
    static let announceCreated = RedisScript(
        """
        local now = tonumber(ARGV[2])
        """ + events(channel: "ARGV[1]") + """

            if listening() then
                for id, task_type in string.gmatch(ARGV[3], '([^ \\n]+) ([^\\n]*)') do
                    event(id, 'created', 'pending', task_type, 0, 0, 1)
                end
                publish()
            end
            return #events
            """)
}
