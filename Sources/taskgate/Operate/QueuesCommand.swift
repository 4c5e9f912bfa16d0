import ArgumentParser
import TaskgateCore
import TaskgateGateway

/// `taskgate queues`: every registered queue with its depths, pause, limits and counts.
struct QueuesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queues", abstract: "List the queues: depths, paused, limits, oldest pending, counts.")

    @OptionGroup var options: OperatorOptions
    @Argument(help: "Show this queue alone, with its per-minute counts of the last hour.")
    var queue: String?

    func validate() throws {
        if let queue, QueueName(queue) == nil {
            throw ValidationError("queue names match [A-Za-z0-9._-]{1,64}, got \(queue)")
        }
    }

    func run() throws {
        let operations = try options.operations()
        do throws(TaskStoreError) {
            if let queue = queue.flatMap(QueueName.init) {
                let summary = try operations.inspector.summary(of: queue)
                if options.json {
                    Console.json(QueueRepresentation.summary(summary, perMinute: true).serializedBytes)
                } else {
                    Self.table([summary])
                    Console.line("")
                    Console.table(
                        ["minute", "succeeded", "failed"],
                        summary.statistics.perMinute.suffix(15).map {
                            [Console.time($0.start), String($0.counts.succeeded), String($0.counts.failed)]
                        })
                }
                return
            }
            var summaries: [QueueSummary] = []
            var cursor: QueueName?
            repeat {
                let page = try operations.inspector.summaries(after: cursor, limit: QueueInspector.maxPage)
                summaries += page.queues
                cursor = page.next
            } while cursor != nil
            if options.json {
                Console.json(QueueRepresentation.page(summaries, next: nil).serializedBytes)
            } else {
                Self.table(summaries)
            }
        } catch {
            throw OperatorExit.store(error)
        }
    }

    /// The queue table.
    static func table(_ summaries: [QueueSummary]) {
        Console.table(
            [
                "queue", "pending", "scheduled", "retrying", "active", "dead", "paused", "limits", "oldest_s",
                "ok/min", "fail/min", "ok/h", "fail/h",
            ],
            summaries.map { summary in
                let limits = summary.limits
                var limitText: [String] = []
                if let rate = limits.maxPerSecond { limitText.append("\(QueueLimits.text(rate: rate))/s") }
                if let active = limits.maxActive { limitText.append("active<=\(active)") }
                let statistics = summary.statistics
                return [
                    summary.queue.rawValue, String(summary.depths.pending), String(summary.depths.scheduled),
                    String(summary.depths.retrying), String(summary.depths.active), String(summary.depths.dead),
                    summary.isPaused ? "yes" : "no", limitText.isEmpty ? "none" : limitText.joined(separator: ","),
                    Console.seconds(summary.oldestPendingAgeMilliseconds), String(statistics.lastMinute.succeeded),
                    String(statistics.lastMinute.failed), String(statistics.lastHour.succeeded),
                    String(statistics.lastHour.failed),
                ]
            })
    }
}
