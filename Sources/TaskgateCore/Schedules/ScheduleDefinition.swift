/// What a schedule is: when it ticks (`cron` read in `timezone`), what it does with missed ticks and overlapping
/// runs, and the task each tick creates.
///
/// It is stored as its canonical JSON (``spec``), which every worker parses again to fire it.
public struct ScheduleDefinition: Sendable {
    /// The cron expression as given (five or six fields, or an `@` form).
    public let cron: String
    /// The IANA time zone its wall times are read in.
    public let timezone: String
    /// What happens to missed ticks.
    public let misfire: MisfirePolicy
    /// With ``MisfirePolicy/all``, how far back (seconds) missed ticks still fire.
    public let misfireWindowSeconds: Int
    /// What happens to a tick while the last run is not final.
    public let overlap: OverlapPolicy
    /// The task each tick creates (no delay; its queue, type, payload, retries, timeout, callback).
    public let task: TaskSubmission
    /// The ticks, on the zone's clock.
    public let ticks: ZonedSchedule

    /// The default of ``misfireWindowSeconds``: one hour.
    public static let defaultMisfireWindowSeconds = 3600
    /// The longest misfire window: seven days.
    public static let maxMisfireWindowSeconds = 604_800
    /// The fields of a template, as `POST /tasks` names them (no `delay_seconds`: the tick is the time).
    static let templateFields: Set<String> = [
        "queue", "type", "payload", "max_retries", "timeout_seconds", "callback_url",
    ]

    /// Creates a definition from valid parts; throws (naming the field) when `cron` or `timezone` is not.
    public init(
        cron: String, timezone: String = "UTC", misfire: MisfirePolicy = .skip,
        misfireWindowSeconds: Int = defaultMisfireWindowSeconds, overlap: OverlapPolicy = .allow, task: TaskSubmission
    ) throws(TaskValidationError) {
        let schedule: CronSchedule
        do {
            schedule = try CronSchedule(cron)
        } catch {
            throw TaskValidationError(
                .invalidField, field: "/cron", "cron is not valid (\(error.code.rawValue)): \(error.description)")
        }
        do {
            ticks = try ZonedSchedule(schedule, timeZone: timezone)
        } catch {
            throw TaskValidationError(.invalidField, field: "/timezone", "\(timezone) is not an IANA time zone name")
        }
        guard (1...Self.maxMisfireWindowSeconds).contains(misfireWindowSeconds) else {
            throw TaskValidationError(
                .invalidField, field: "/misfire_window_seconds",
                "misfire_window_seconds must be a whole number from 1 to \(Self.maxMisfireWindowSeconds)")
        }
        self.cron = cron
        self.timezone = timezone
        self.misfire = misfire
        self.misfireWindowSeconds = misfireWindowSeconds
        self.overlap = overlap
        self.task = task
    }

    /// Parses a `PUT /schedules/{name}` body (or a stored ``spec``); errors name the field as a JSON Pointer,
    /// the template's as `/task/...`, and carry the message `POST /tasks` would give.
    public init(body: [UInt8]) throws(TaskValidationError) {
        let document: JSONValue
        do {
            document = try JSONValue.parse(body)
        } catch {
            throw TaskValidationError(.malformedJSON, field: nil, "the body is not valid JSON: \(error)")
        }
        guard case .object(let members) = document else {
            throw TaskValidationError(
                .invalidField, field: "", "the body must be a JSON object, got \(document.typeName)")
        }
        var fields: [String: JSONValue] = [:]
        let known = ["cron", "timezone", "misfire", "misfire_window_seconds", "overlap", "task"]
        for member in members {
            let field = "/" + member.name.replacingPointerCharacters
            guard known.contains(member.name) else {
                throw TaskValidationError(
                    .unknownField, field: field,
                    "unknown field \(member.name); known: \(known.joined(separator: ", "))")
            }
            guard fields[member.name] == nil else {
                throw TaskValidationError(.invalidField, field: field, "field \(member.name) appears twice")
            }
            fields[member.name] = member.value
        }
        guard let cronValue = fields["cron"] else {
            throw TaskValidationError(.missingField, field: "/cron", "cron is required, as in \"*/5 * * * *\"")
        }
        let cron = try Self.string(cronValue, "cron")
        let timezone = try fields["timezone"].map { value throws(TaskValidationError) in
            try Self.string(value, "timezone")
        }
        let misfire = try Self.choice(fields["misfire"], "misfire", default: MisfirePolicy.skip)
        let overlap = try Self.choice(fields["overlap"], "overlap", default: OverlapPolicy.allow)
        var window = Self.defaultMisfireWindowSeconds
        if let value = fields["misfire_window_seconds"] {
            // A whole number in any JSON spelling (`3600`, `3600.0`, `3.6e3`), as JSON Schema's integer is.
            guard case .number(let text) = value, let number = Double(text), number == number.rounded(),
                abs(number) <= Double(Self.maxMisfireWindowSeconds) * 10
            else {
                throw TaskValidationError(
                    .invalidField, field: "/misfire_window_seconds",
                    "misfire_window_seconds must be a whole number of seconds, got \(value.typeName)")
            }
            window = Int(number)
        }
        guard let template = fields["task"] else {
            throw TaskValidationError(
                .missingField, field: "/task", "task is required: the task each tick creates, as POST /tasks takes it")
        }
        try self.init(
            cron: cron, timezone: timezone ?? "UTC", misfire: misfire, misfireWindowSeconds: window,
            overlap: overlap, task: try Self.template(template))
    }

    /// The template, checked as `POST /tasks` checks a body, with `delay_seconds` refused.
    private static func template(_ value: JSONValue) throws(TaskValidationError) -> TaskSubmission {
        guard case .object(let members) = value else {
            throw TaskValidationError(.invalidField, field: "/task", "task must be an object, got \(value.typeName)")
        }
        for member in members where !templateFields.contains(member.name) {
            throw TaskValidationError(
                .unknownField, field: "/task/" + member.name.replacingPointerCharacters,
                "unknown field \(member.name) in a task template; known: "
                    + templateFields.sorted().joined(separator: ", "))
        }
        do {
            return try TaskSubmission(body: value.serializedBytes)
        } catch {
            throw TaskValidationError(error.code, field: "/task" + (error.field ?? ""), error.message)
        }
    }

    private static func string(_ value: JSONValue, _ name: String) throws(TaskValidationError) -> String {
        guard case .string(let text) = value else {
            throw TaskValidationError(
                .invalidField, field: "/" + name, "\(name) must be a string, got \(value.typeName)")
        }
        return text
    }

    private static func choice<Choice: RawRepresentable & CaseIterable>(
        _ value: JSONValue?, _ name: String, default fallback: Choice
    ) throws(TaskValidationError) -> Choice where Choice.RawValue == String {
        guard let value else { return fallback }
        let names = Choice.allCases.map(\.rawValue).joined(separator: ", ")
        guard case .string(let text) = value, let choice = Choice(rawValue: text) else {
            throw TaskValidationError(.invalidField, field: "/" + name, "\(name) must be one of \(names)")
        }
        return choice
    }

    /// When it ticks, as one string: a change of it moves the schedule's next tick, any other change does not.
    public var timing: String { cron + "\n" + timezone }

    /// The template as a JSON object (the `task` member of the definition).
    public var taskJSON: JSONValue {
        var members = [JSONMember("queue", .string(task.queue.rawValue))]
        if let type = task.type { members.append(JSONMember("type", .string(type))) }
        members.append(JSONMember("payload", task.payload))
        members.append(JSONMember("max_retries", .integer(task.maxRetries)))
        if let timeout = task.timeoutMilliseconds {
            members.append(
                JSONMember(
                    "timeout_seconds",
                    timeout % 1000 == 0 ? .integer(timeout / 1000) : .number(String(Double(timeout) / 1000))))
        }
        if let callback = task.callbackURL { members.append(JSONMember("callback_url", .string(callback))) }
        return .object(members)
    }

    /// The definition's members, in the order the API shows them.
    public var members: [JSONMember] {
        [
            JSONMember("cron", .string(cron)), JSONMember("timezone", .string(timezone)),
            JSONMember("misfire", .string(misfire.rawValue)),
            JSONMember("misfire_window_seconds", .integer(misfireWindowSeconds)),
            JSONMember("overlap", .string(overlap.rawValue)), JSONMember("task", taskJSON),
        ]
    }

    /// The canonical JSON that is stored and that ``init(body:)`` reads back.
    public var spec: String { JSONValue.object(members).serialized }

    /// The tick times (ms) of the first `count` ticks after the instant `afterMilliseconds`.
    public func upcoming(afterMilliseconds: Int, count: Int) -> [Int] {
        var result: [Int] = []
        var tick = ticks.firstTick(afterUTCSeconds: Self.floorSeconds(afterMilliseconds))
        while let current = tick, result.count < count {
            result.append(current.instant * 1000)
            tick = ticks.tick(after: current)
        }
        return result
    }

    /// The first tick (ms) strictly after the instant `afterMilliseconds`.
    public func firstTick(afterMilliseconds: Int) -> Int? {
        ticks.firstTick(afterUTCSeconds: Self.floorSeconds(afterMilliseconds)).map { $0.instant * 1000 }
    }

    /// The tick (ms) after the tick at `tickMilliseconds`.
    public func tick(afterTick tickMilliseconds: Int) -> Int? {
        let seconds = Self.floorSeconds(tickMilliseconds)
        return ticks.tick(after: ZonedSchedule.Tick(instant: seconds, wall: ticks.wall(at: seconds)))
            .map { $0.instant * 1000 }
    }

    static func floorSeconds(_ milliseconds: Int) -> Int {
        milliseconds >= 0 ? milliseconds / 1000 : -((-milliseconds + 999) / 1000)
    }
}
